"""The PyTorch side of Skipscope's CPU benchmarks: one step (forward, the mean-square loss,
backward) and its timing loop, shared by bench/probe_torch.py, bench/probe_recurrent_torch.py,
bench/make_zoo.py and bench/probe_gpu_torch.py so that every benchmark times the same thing."""

import time


def mse_step(model, x, sync=lambda: None):
    """A function doing one forward + backward of mean(y²) of `model` on `x`; returns the loss.
    `sync` waits for the device (CUDA) before the step counts as done."""

    def step():
        model.zero_grad(set_to_none=True)
        y = model(x)
        loss = (y * y).mean()
        loss.backward()
        sync()
        return float(loss)

    return step


def time_steps(step, runs, warmup=2):
    """`warmup` untimed steps, then `runs` timed ones: (the last loss, ms of each timed step)."""
    for _ in range(warmup):
        step()
    times = []
    loss = None
    for _ in range(runs):
        t0 = time.perf_counter()
        loss = step()
        times.append((time.perf_counter() - t0) * 1000)
    return loss, times
