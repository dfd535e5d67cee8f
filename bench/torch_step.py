"""The PyTorch side of Skipscope's CPU benchmarks: one step (forward, the mean-square loss,
backward) and its timing loop, shared by bench/probe_torch.py, bench/probe_recurrent_torch.py,
bench/make_zoo.py and bench/probe_gpu_torch.py so that every benchmark times the same thing, and
`keep_freed_memory`, which every CPU benchmark calls before it times PyTorch."""

import ctypes
import time

# mallopt's parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def keep_freed_memory():
    """Has glibc's malloc keep the memory PyTorch frees, for the next step to reuse.

    As installed, glibc returns large freed blocks to the kernel: blocks from 128 KB up to a
    threshold it moves as the process frees (up to 32 MB) are separate mappings, unmapped when
    freed, and the top of the heap is trimmed. Each step then faults its buffers in afresh. On the
    2-vCPU VMs measured that made PyTorch's median step anywhere from 1× to 4× its steady time,
    the same within a session and different from one session to the next (ResNet-18, batch 8,
    64×64, one thread: 67–304 ms a step), as the thresholds a session happened to reach differed.
    With both thresholds raised, every session ran at 68–84 ms; with only one of them raised,
    154–189 ms (mappings kept, heap trimmed) or 700–960 ms (the reverse). Returns False where
    glibc refused a setting (then PyTorch runs as installed).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    big = 1 << 30
    # Newer glibc caps the mapping threshold at 32 MB; blocks above it are mapped whatever is set.
    mmap_ok = libc.mallopt(_M_MMAP_THRESHOLD, big) == 1 or libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20) == 1
    return bool(mmap_ok and libc.mallopt(_M_TRIM_THRESHOLD, big) == 1)


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
