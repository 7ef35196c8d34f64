"""A4 training benchmark: the reference Keras model, and the NumPy trainer against ``model.fit``.

Run: ``.venv/bin/python benchmarks/a4_training.py [--epochs 3] [--seeds 3]``. One run prints:

1. the reference solution's Keras model (the solution notebook's ``build_model`` trained as the
   notebook trains it, ``grader.authoring.sample_models``): its MNIST test accuracy and training time;
2. the reference NumPy trainer (the solution notebook's ``train``, loaded from the notebook) against
   ``model.fit`` on the *same network* (784-16-16-10, sigmoid everywhere, cost ½‖a − y‖², plain SGD
   with the same learning rate, initial-weight distribution, epochs and batch size), side by side:
   the speed ratio and the difference of mean test accuracies over ``--seeds`` seeds (one run's
   accuracy after a few epochs moves by a few tenths of a point with the seed alone); plus
   ``model.fit`` with ``steps_per_execution``, Keras's own remedy for per-step overhead, for context.

The machine may be shared, so it also prints the load average and, for every timing, wall-clock and
CPU seconds; the NumPy trainer is timed once per seed to show the spread.
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # tiny matrices: one BLAS thread is fastest
os.environ.setdefault("OMP_NUM_THREADS", "1")

import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from grader.authoring import sample_models  # noqa: E402
from grader.quiet import keras  # noqa: E402
from grader.reports import report  # noqa: E402


class Timer:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def quadratic_cost(y, a):
    """½‖a − y‖² per example; Keras averages it over the batch, as the NumPy trainer's eta/m does."""
    return 0.5 * keras().ops.sum((a - y) ** 2, axis=-1)


def keras_twin(ns, *, eta: float, steps_per_execution: int = 1):
    """The NumPy trainer's network and training rule, in Keras."""
    k = keras()
    sizes = ns["SIZES"]
    layers = [k.Input(shape=(sizes[0],))]
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):  # train() draws W ~ N(0, 1/n_in), b = 0
        layers.append(k.layers.Dense(n_out, activation="sigmoid", bias_initializer="zeros",
                                     kernel_initializer=k.initializers.RandomNormal(stddev=1 / np.sqrt(n_in))))
    model = k.Sequential(layers)
    model.compile(optimizer=k.optimizers.SGD(learning_rate=eta), loss=quadratic_cost,
                  steps_per_execution=steps_per_execution)
    return model


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs for the NumPy-vs-fit comparison")
    parser.add_argument("--seeds", type=int, default=10, help="training runs per trainer (seeds 0, 1, ...)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    k = keras()
    ns = sample_models.solution_namespace()
    (x_train, y_train), (x_test, y_test) = sample_models.training_data()
    print(f"machine: {os.cpu_count()} cores, load average {load_before[0]:.2f} (1 min) / {load_before[1]:.2f} (5 min); "
          f"Keras {k.__version__}, NumPy {np.__version__} with 1 BLAS thread")

    # 1. the reference solution's Keras model
    with Timer() as t_ref:
        model, _, fit_seconds = sample_models.train_reference()
    ref_accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    print(f"\n1. reference Keras model (build_model + fit: {ns['EPOCHS']} epochs, batch {ns['BATCH_SIZE']}, "
          f"sigmoid hidden layers): test accuracy {ref_accuracy:.4f} (target >= 0.95), "
          f"fit {fit_seconds:.1f} s wall, {t_ref.cpu:.1f} s CPU (target < 60 s)")

    # 2. the NumPy trainer against model.fit, same network, epochs and batch size, several seeds:
    # after 3 epochs one run's test accuracy varies by about 0.45 points (sd) with the seed alone,
    # so single runs can't resolve a 0.5-point difference; means over 10 seeds can (error ~0.2)
    defaults = ns["train"].__defaults__  # (batch_size, eta, seed), from the notebook's signature
    batch_size, eta = defaults[0], defaults[1]
    numpy_runs, numpy_acc = [], []
    for seed in range(args.seeds):
        with Timer() as t:
            weights, biases = ns["train"](x_train, y_train, args.epochs, seed=seed)
        numpy_runs.append(t)
        numpy_acc.append(ns["accuracy"](x_test, y_test, weights, biases))
    fit_runs, fit_acc = {}, []
    for seed in range(args.seeds):
        # seed 0 with plain model.fit (timed), the others with steps_per_execution=50: the same
        # updates, faster, so only the time differs
        spe = 1 if seed == 0 else 50
        k.utils.set_random_seed(seed)
        twin = keras_twin(ns, eta=eta, steps_per_execution=spe)
        with Timer() as t:
            twin.fit(x_train, np.eye(10)[y_train], epochs=args.epochs, batch_size=batch_size, verbose=0)
        fit_runs.setdefault(spe, t)
        fit_acc.append(float(np.mean(np.argmax(twin.predict(x_test, verbose=0), axis=1) == y_test)))
    best = min(r.wall for r in numpy_runs)
    rows = [["NumPy train (solution notebook)", f"{best:.2f}", f"{statistics.median(r.wall for r in numpy_runs):.2f}",
             f"{min(r.cpu for r in numpy_runs):.2f}", " ".join(f"{a:.3f}" for a in numpy_acc)],
            ["model.fit (seed 0)", f"{fit_runs[1].wall:.2f}", "", f"{fit_runs[1].cpu:.2f}", f"{fit_acc[0]:.3f}"]]
    if 50 in fit_runs:
        rows.append(["model.fit, steps_per_execution=50", f"{fit_runs[50].wall:.2f}", "", f"{fit_runs[50].cpu:.2f}",
                     "      " + " ".join(f"{a:.3f}" for a in fit_acc[1:])])
    print(f"\n2. same network (784-16-16-10, sigmoid, cost 1/2|a-y|^2, SGD eta={eta:g}, W ~ N(0, 1/n_in), b = 0), "
          f"{args.epochs} epochs, batch {batch_size}, 60,000 digits, seeds 0..{args.seeds - 1}")
    print(report.table(["trainer", "best wall s", "median wall s", "best CPU s", "test accuracy per seed"], rows))
    best_cpu = min(r.cpu for r in numpy_runs)
    median = statistics.median(r.wall for r in numpy_runs)
    print(f"\nspeed: NumPy train is {fit_runs[1].wall / best:.1f}x faster than model.fit in wall-clock time "
          f"(best NumPy run; {fit_runs[1].wall / median:.1f}x for the median run; target >= 5x), "
          f"{fit_runs[1].cpu / best_cpu:.1f}x in CPU time"
          + (f"; {fit_runs[50].wall / best:.1f}x faster than model.fit with steps_per_execution=50" if 50 in fit_runs else ""))
    diff = (statistics.mean(numpy_acc) - statistics.mean(fit_acc)) * 100
    error = 100 * (statistics.variance(numpy_acc) / len(numpy_acc) + statistics.variance(fit_acc) / len(fit_acc)) ** 0.5 \
        if args.seeds > 1 else float("nan")
    spread = lambda a: f"{statistics.mean(a):.4f} +- {statistics.pstdev(a):.4f}"  # noqa: E731
    print(f"accuracy: NumPy {spread(numpy_acc)} vs Keras {spread(fit_acc)} (mean +- sd over {args.seeds} seeds): "
          f"difference {abs(diff):.2f} percentage points (target <= 0.5; standard error of the difference {error:.2f})")
    load_after = os.getloadavg()
    timing_spread = (max(r.wall for r in numpy_runs) - best) / best
    print(f"\nnoise: load average {load_before[0]:.2f} -> {load_after[0]:.2f} on {os.cpu_count()} cores; "
          f"NumPy timings spread {timing_spread:.0%} (slowest vs best of {args.seeds})")


if __name__ == "__main__":
    main()
