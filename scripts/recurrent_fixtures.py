"""Recurrent-net fixtures for the probe tests (called by scripts/make_grad_refs.py).

Four small PyTorch models exported with the classic exporter (opset 17, constant folding off, so
every ONNX initializer is the PyTorch parameter of the same name; the exporter reorders LSTM/GRU
gates with Slice/Concat nodes on those initializers):

- rnn_lstm_tagger: nn.Embedding → 2-layer nn.LSTM (batch_first) → nn.Linear per token, int64 token
  ids in, the classic sequence tagger;
- rnn_gru_bidir: 2-layer bidirectional nn.GRU (batch_first) → nn.Linear per step;
- rnn_tanh: 2-layer nn.RNN (tanh, sequence-first input [T, batch, I]) → nn.Linear on the last step
  only, so that the gradient has to travel back through time (and vanishes on the way);
- rnn_lstm_states: bidirectional nn.LSTM over a packed batch (pack_padded_sequence with lengths
  [6, 4] held in a buffer: ONNX sequence_lens) with learned initial states h0/c0 (nn.Parameter,
  expanded over the batch: ONNX initial_h/initial_c), batch fixed at 2;
- rnn_lengths_input: nn.LSTM over a packed batch whose lengths are a second graph input.

For each, a float64 PyTorch reference: the gradient of every parameter (as make_grad_refs writes
them) and, per recurrent ONNX node and direction, the L2 norm of dLoss/dh_t at every timestep t,
measured on an unrolled float64 copy of the recurrence (the same weights, cell by cell, with
retain_grad on each step's hidden state) that must reproduce nn.LSTM/GRU/RNN's outputs and
gradients first.

Plus graphs built with onnx.helper for what no PyTorch export produces (checked against
onnxruntime forward and finite differences): rnn_variants (peepholes, clip, input_forget, reverse,
initial states, sequence_lens, linear_before_reset 0, activation lists with alpha/beta),
rnn_layout1 (layout 1, which onnxruntime refuses, next to layout-0 twins) and rnn_bad_activation (an activation ONNX does not define, refused up front).
"""

import os

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

SEED = 20261127
BATCH = 2


class Unrollable(nn.Module):
    """A model whose recurrent modules run either as themselves (export, parameter gradients) or
    unrolled step by step in float64 (per-timestep gradients); `states` collects, per recurrent
    module, layer and direction, the hidden state of each step in sequence order."""

    unroll = False

    def rnn(self, mod, x, hx=None, lens=None):
        """Runs `mod` on sequence-first `x` ([T, B, I]); returns Y [T, B, D·H] (zeros past lens)."""
        if self.unroll:
            return unrolled(mod, x, hx, lens, self.states)
        bf = mod.batch_first
        if bf:
            x = x.transpose(0, 1)
        if lens is None:
            y = mod(x, hx)[0]
        else:
            p = pack_padded_sequence(x, lens, batch_first=bf, enforce_sorted=True)
            y = pad_packed_sequence(mod(p, hx)[0], batch_first=bf, total_length=x.shape[1 if bf else 0])[0]
        return y.transpose(0, 1) if bf else y


def _cell(mod, kind, x, h, c, layer, suffix):
    """One step of PyTorch's cell equations (gate orders i,f,g,o and r,z,n)."""
    w_ih = getattr(mod, f"weight_ih_l{layer}{suffix}")
    w_hh = getattr(mod, f"weight_hh_l{layer}{suffix}")
    b_ih = getattr(mod, f"bias_ih_l{layer}{suffix}")
    b_hh = getattr(mod, f"bias_hh_l{layer}{suffix}")
    gi = x @ w_ih.T + b_ih
    gh = h @ w_hh.T + b_hh
    if kind == "LSTM":
        i, f, g, o = (gi + gh).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
    if kind == "GRU":
        ir, iz, inn = gi.chunk(3, 1)
        hr, hz, hn = gh.chunk(3, 1)
        r = torch.sigmoid(ir + hr)
        z = torch.sigmoid(iz + hz)
        n = torch.tanh(inn + r * hn)
        return (1 - z) * n + z * h, None
    act = torch.tanh if mod.nonlinearity == "tanh" else torch.relu
    return act(gi + gh), None


def unrolled(mod, x, hx, lens, states):
    """nn.LSTM/GRU/RNN on sequence-first `x`, step by step, keeping each step's hidden state
    (retain_grad) in `states[(mod, layer, direction)]`. Past a sample's length the state is carried
    unchanged and the output is zero, as packed sequences give."""
    kind = type(mod).__name__
    T, B, _ = x.shape
    H = mod.hidden_size
    D = 2 if mod.bidirectional else 1
    if kind == "LSTM":
        h0, c0 = hx if hx is not None else (x.new_zeros(mod.num_layers * D, B, H),) * 2
    else:
        h0 = hx if hx is not None else x.new_zeros(mod.num_layers * D, B, H)
        c0 = None
    masks = None
    if lens is not None:
        masks = [(t < lens).to(x.dtype).reshape(B, 1) for t in range(T)]
    inp = x
    for layer in range(mod.num_layers):
        outs = []
        for d in range(D):
            h = h0[layer * D + d]
            c = c0[layer * D + d] if c0 is not None else None
            ys = [None] * T
            steps = []
            for s in range(T):
                t = T - 1 - s if d == 1 else s
                h_new, c_new = _cell(mod, kind, inp[t], h, c, layer, "_reverse" if d == 1 else "")
                h_new.retain_grad()
                steps.append((t, h_new))
                m = masks[t] if masks else None
                if m is None:
                    ys[t], h, c = h_new, h_new, c_new
                else:
                    ys[t] = h_new * m
                    h = h + (h_new - h) * m
                    c = c + (c_new - c) * m if c is not None else None
            states[(mod, layer, d)] = [hn for _, hn in sorted(steps, key=lambda p: p[0])]
            outs.append(torch.stack(ys))
        inp = torch.cat(outs, 2)
    return inp


class LstmTagger(Unrollable):
    """Token ids → embedding → 2-layer LSTM → a linear tag score per token."""

    VOCAB = 16

    def __init__(self, vocab=VOCAB, emb=6, hidden=8, tags=5):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=2, batch_first=True)
        self.fc = nn.Linear(hidden, tags)

    def forward(self, ids):
        y = self.rnn(self.lstm, self.emb(ids).transpose(0, 1)).transpose(0, 1)
        return self.fc(y)


class GruBidir(Unrollable):
    """2-layer bidirectional GRU over [batch, T, 4] → a linear output per step."""

    def __init__(self, inputs=4, hidden=6, outputs=3):
        super().__init__()
        self.gru = nn.GRU(inputs, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(2 * hidden, outputs)

    def forward(self, x):
        return self.fc(self.rnn(self.gru, x.transpose(0, 1)).transpose(0, 1))


class RnnTanh(Unrollable):
    """2-layer tanh RNN over sequence-first [T, batch, 5]; only the last step feeds the head."""

    def __init__(self):
        super().__init__()
        self.rnn_ = nn.RNN(5, 7, num_layers=2, nonlinearity="tanh")
        self.fc = nn.Linear(7, 3)

    def forward(self, x):
        return self.fc(self.rnn(self.rnn_, x)[-1])


class LstmStates(Unrollable):
    """Bidirectional LSTM over a packed batch of lengths [6, 4], from learned initial states."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 5, bidirectional=True)
        self.h0 = nn.Parameter(torch.randn(2, 1, 5) * 0.5)
        self.c0 = nn.Parameter(torch.randn(2, 1, 5) * 0.5)
        self.fc = nn.Linear(10, 2)
        self.register_buffer("lens", torch.tensor([6, 4]))

    def forward(self, x):
        b = x.shape[0]
        hx = (self.h0.expand(-1, b, -1).contiguous(), self.c0.expand(-1, b, -1).contiguous())
        y = self.rnn(self.lstm, x.transpose(0, 1), hx, self.lens)
        return self.fc(y.transpose(0, 1))


class LstmLengths(Unrollable):
    """LSTM over a packed batch whose lengths are a second graph input (int64 [batch]), as a model
    that takes padded batches plus their lengths is exported; the reference uses lengths [6, 3]."""

    LENGTHS = [6, 3]

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 5)
        self.fc = nn.Linear(5, 2)

    def forward(self, x, lengths=None):
        lens = torch.tensor(self.LENGTHS) if lengths is None else lengths
        return self.fc(self.rnn(self.lstm, x.transpose(0, 1), None, lens).transpose(0, 1))


# name: (module class, input shape, int64 ids below this vocabulary or None, dynamic batch axis)
MODELS = {
    "rnn_lstm_tagger": (LstmTagger, (BATCH, 7), LstmTagger.VOCAB, 0),
    "rnn_gru_bidir": (GruBidir, (BATCH, 6, 4), None, 0),
    "rnn_tanh": (RnnTanh, (9, BATCH, 5), None, 1),
    "rnn_lstm_states": (LstmStates, (BATCH, 6, 4), None, None),
    "rnn_lengths_input": (LstmLengths, (BATCH, 6, 4), None, 0),
}

# Second graph inputs: name → (input name, the value the reference feeds).
EXTRA_INPUTS = {"rnn_lengths_input": ("lengths", np.array(LstmLengths.LENGTHS, dtype=np.int64))}


def build(name):
    """The fixture module, rebuilt identically (seeded init plus seeded noise on every parameter)."""
    ctor = MODELS[name][0]
    torch.manual_seed(SEED)
    m = ctor().eval()
    gen = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.1)
    return m


def recurrent_nodes(onnx_file):
    """The LSTM/GRU/RNN node names of the export, in graph order (one per layer)."""
    import onnx

    g = onnx.load(onnx_file).graph
    return [n.name for n in g.node if n.op_type in ("LSTM", "GRU", "RNN")]


def timestep_record(model, x, onnx_file, mean_square):
    """Per recurrent node and direction: ‖dLoss/dh_t‖₂ over the batch for every step t, from the
    unrolled float64 copy, which must agree with the module (outputs and parameter gradients)."""
    model = model.double()
    xin = torch.from_numpy(x) if x.dtype == np.int64 else torch.from_numpy(x).double()
    model.zero_grad()
    model.unroll = False
    ref_out = model(xin)
    mean_square(ref_out).backward()
    ref_grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    model.unroll = True
    model.states = {}
    out = model(xin)
    mean_square(out).backward()
    model.unroll = False
    assert torch.allclose(out, ref_out, rtol=1e-10, atol=1e-12), "unrolled forward differs"
    for n, p in model.named_parameters():
        assert torch.allclose(p.grad, ref_grads[n], rtol=1e-8, atol=1e-14), f"unrolled gradient of {n} differs"
    nodes = recurrent_nodes(onnx_file)
    keys = sorted(model.states, key=lambda k: (list(model.modules()).index(k[0]), k[1], k[2]))
    layers = sorted({(list(model.modules()).index(k[0]), k[1]) for k in keys})
    assert len(layers) == len(nodes), f"{len(layers)} recurrent layers but {len(nodes)} ONNX nodes"
    rows = []
    for mod, layer, d in keys:
        node = nodes[layers.index((list(model.modules()).index(mod), layer))]
        l2 = [float(h.grad.norm()) if h.grad is not None else 0.0 for h in model.states[(mod, layer, d)]]
        rows.append({"node": node, "direction": "reverse" if d == 1 else "forward", "l2": l2})
    return rows


def model_input(name, seed):
    _, shape, vocab, _ = MODELS[name]
    rng = np.random.default_rng(seed)
    if vocab:
        return rng.integers(0, vocab, shape).astype(np.int64)
    return rng.standard_normal(shape).astype(np.float32)


def export(name, module, out_dir):
    _, shape, vocab, batch_axis = MODELS[name]
    path = os.path.join(out_dir, f"{name}.onnx")
    x = torch.from_numpy(model_input(name, 0))
    axes = {}
    if batch_axis is not None:
        axes = {"input": {batch_axis: "batch"}, "output": {0: "batch"}}
    names = ["input"]
    args = x
    if name in EXTRA_INPUTS:
        extra, value = EXTRA_INPUTS[name]
        names.append(extra)
        args = (x, torch.from_numpy(value))
        if batch_axis is not None:
            axes[extra] = {0: "batch"}
    torch.onnx.export(
        module,
        args,
        path,
        input_names=names,
        output_names=["output"],
        dynamic_axes=axes,
        opset_version=17,
        do_constant_folding=False,
    )
    return path


def write_models(only, root, out_dir, input_seed, refs):
    """Exports the PyTorch fixtures and writes their references with make_grad_refs.py's helpers
    (`refs`: grad_record, check_names, write, mean_square)."""
    import json

    rows = []
    for name in MODELS:
        if only and name not in only:
            continue
        module = build(name)
        with torch.no_grad():
            path = export(name, module, out_dir)
        x = model_input(name, input_seed)
        params, loss = refs.grad_record(build(name), x)
        refs.check_names(path, params)
        refs.write(name, os.path.relpath(path, root), x, params, loss)
        # The timestep series goes into the same JSON.
        ref_file = os.path.join(out_dir, f"{name}.json")
        with open(ref_file) as f:
            rec = json.load(f)
        rec["timesteps"] = timestep_record(build(name), x, path, refs.mean_square)
        if name in EXTRA_INPUTS:
            extra, value = EXTRA_INPUTS[name]
            npy = f"test/fixtures/grads/{name}.{extra}.npy"
            np.save(os.path.join(root, npy), value)
            rec["inputs"] = {"input": rec["input"], extra: npy}
        with open(ref_file, "w") as f:
            json.dump(rec, f, indent=1)
            f.write("\n")
        rows.append((name, len(params), loss))
    if not only or "rnn_variants" in only:
        export_variants(out_dir)
    if not only or "rnn_layout1" in only:
        export_layout1(out_dir)
    if not only or "rnn_bad_activation" in only:
        export_bad_activation(out_dir)
    return rows


def _weights(rng, name, shape, scale=0.4):
    from onnx import numpy_helper

    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


class _RecurrentGraph:
    """A graph of recurrent nodes on one input X [T=5, batch 3, I=3] (and its batch-first
    transpose x_bf), with seeded weights as initializers."""

    T, B, I, H = 5, 3, 3, 4

    def __init__(self, seed):
        from onnx import helper, numpy_helper

        self.rng = np.random.default_rng(seed)
        self.inits = [numpy_helper.from_array(np.array([5, 3, 4], dtype=np.int32), "lens")]
        self.nodes = [helper.make_node("Transpose", ["input"], ["x_bf"], name="to_batch_first", perm=[1, 0, 2])]
        self.outs = []

    def add(self, op, name, dirs, inputs, n_out, weights=None, **attrs):
        """Adds node `name` with seeded W, R, B (or those of node `weights`) and the optional
        inputs named in `inputs` (lens, h0, c0, P; X defaults to the sequence-first input)."""
        from onnx import TensorProto, helper

        T, B, I, H = self.T, self.B, self.I, self.H
        gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[op]
        src = weights or name
        w, r, b = f"{src}.W", f"{src}.R", f"{src}.B"
        if not weights:
            self.inits += [
                _weights(self.rng, w, (dirs, gates * H, I)),
                _weights(self.rng, r, (dirs, gates * H, H)),
                _weights(self.rng, b, (dirs, 2 * gates * H), 0.2),
            ]
        layout1 = attrs.get("layout") == 1
        ins = [inputs.get("X", "input"), w, r, b, inputs.get("lens", "")]
        for k in ("h0", "c0", "P") if op == "LSTM" else ("h0",):
            if k not in inputs:
                ins.append("")
                continue
            nm = f"{src}.{k}"
            if not weights:
                shape = (dirs, 3 * H) if k == "P" else (dirs, B, H)
                self.inits.append(_weights(self.rng, nm, shape, 0.5))
            if layout1 and k != "P":
                # Layout 1 states are [batch, directions, hidden]: the same values, transposed.
                self.nodes.append(helper.make_node("Transpose", [nm], [f"{nm}.bf"], name=f"{name}.{k}.bf", perm=[1, 0, 2]))
                nm = f"{nm}.bf"
            ins.append(nm)
        while ins[-1] == "":
            ins.pop()
        ys = [f"{name}_{k}" for k in ("Y", "Y_h", "Y_c")[:n_out]]
        self.nodes.append(helper.make_node(op, ins, ys, name=name, hidden_size=H, **attrs))
        shapes = [[B, T, dirs, H] if layout1 else [T, dirs, B, H]] + [[B, dirs, H] if layout1 else [dirs, B, H]] * 2
        self.outs += [helper.make_tensor_value_info(y, TensorProto.FLOAT, sh) for y, sh in zip(ys, shapes)]

    def save(self, name, out_dir):
        import onnx
        from onnx import TensorProto, helper

        x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [self.T, self.B, self.I])
        graph = helper.make_graph(self.nodes, name, [x], self.outs, initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_grad_refs")
        model.ir_version = 8
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, os.path.join(out_dir, f"{name}.onnx"))


def export_variants(out_dir):
    """Recurrent attribute variants no PyTorch export writes, for onnxruntime and finite
    differences: an LSTM (reverse; peepholes, clip, input_forget, initial_h/c, sequence_lens), a
    bidirectional LSTM with its own activation list (HardSigmoid with alpha/beta, Softsign, Elu…),
    a GRU with linear_before_reset 0 (bidirectional; sequence_lens, initial_h, clip), a GRU
    (reverse, linear_before_reset 1, LeakyRelu candidate with an alpha), RNNs with Relu/Tanh and
    with ScaledTanh and Affine."""
    g = _RecurrentGraph(SEED)
    g.add("LSTM", "lstm_peep", 1, {"lens": "lens", "h0": 1, "c0": 1, "P": 1}, 3,
          direction="reverse", clip=0.9, input_forget=1)
    g.add("LSTM", "lstm_acts", 2, {"P": 1}, 3, direction="bidirectional",
          activations=["HardSigmoid", "Softsign", "Elu", "Sigmoid", "Tanh", "Softplus"],
          activation_alpha=[0.3, 0.8], activation_beta=[0.45])
    g.add("GRU", "gru_lbr0", 2, {"lens": "lens", "h0": 1}, 2, direction="bidirectional", clip=1.5)
    g.add("GRU", "gru_lbr1", 1, {"h0": 1}, 2, direction="reverse", linear_before_reset=1,
          activations=["Sigmoid", "LeakyRelu"], activation_alpha=[0.2])
    g.add("RNN", "rnn_relu", 2, {"lens": "lens"}, 2, direction="bidirectional", activations=["Relu", "Tanh"])
    g.add("RNN", "rnn_scaled", 1, {"h0": 1}, 2, activations=["ScaledTanh"], activation_alpha=[1.3],
          activation_beta=[0.7])
    g.add("RNN", "rnn_affine", 1, {}, 1, direction="reverse", activations=["Affine"], activation_alpha=[0.6],
          activation_beta=[0.1])
    g.save("rnn_variants", out_dir)


def export_layout1(out_dir):
    """Layout 1 (batch first), which onnxruntime refuses: each node has a layout-0 twin with the
    same weights and states, so that the test compares the two (an LSTM with peepholes,
    sequence_lens and initial states, bidirectional; a GRU; an RNN)."""
    g = _RecurrentGraph(SEED + 3)
    for op, name, dirs, inputs, n_out, attrs in [
        ("LSTM", "lstm", 2, {"lens": "lens", "h0": 1, "c0": 1, "P": 1}, 3, {"direction": "bidirectional"}),
        ("GRU", "gru", 1, {"lens": "lens", "h0": 1}, 2, {"linear_before_reset": 1}),
        ("RNN", "rnn", 2, {"h0": 1}, 2, {"direction": "bidirectional"}),
    ]:
        g.add(op, f"{name}_layout0", dirs, inputs, n_out, **attrs)
        g.add(op, f"{name}_layout1", dirs, {**inputs, "X": "x_bf"}, n_out, weights=f"{name}_layout0", layout=1, **attrs)
    g.save("rnn_layout1", out_dir)


def export_bad_activation(out_dir):
    """An RNN whose activation list names a function ONNX does not define (Swish): refused up front."""
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(SEED + 5)
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [4, "batch", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    inits = [_weights(rng, "W", (1, 4, 3)), _weights(rng, "R", (1, 4, 4))]
    node = helper.make_node("RNN", ["input", "W", "R"], ["y"], name="rnn_swish", hidden_size=4, activations=["Swish"])
    graph = helper.make_graph([node], "rnn_bad_activation", [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_grad_refs")
    model.ir_version = 8
    onnx.save(model, os.path.join(out_dir, "rnn_bad_activation.onnx"))


# ----------------------------------------------------------------------------- TF.js layers models

TFJS_MODELS = ["lstm", "gru", "simple_rnn", "bidirectional"]


def _keras_act(name):
    """Keras activations as TF.js computes them (hard_sigmoid = clip(0.2·x + 0.5, 0, 1))."""
    return {
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "hard_sigmoid": lambda x: torch.clamp(0.2 * x + 0.5, 0.0, 1.0),
        "relu": torch.relu,
        "linear": lambda x: x,
    }[name]


class KerasInterpreter:
    """Runs a TF.js layers model.json (a chain of InputLayer, LSTM, GRU, SimpleRNN, Bidirectional
    and Dense layers) in float64 PyTorch, with every weight a leaf tensor named as in the weights
    manifest and each recurrent step's hidden state kept (retain_grad) per (node, direction)."""

    def __init__(self, model_dir):
        import json

        with open(os.path.join(model_dir, "model.json")) as f:
            mj = json.load(f)
        topo = mj["modelTopology"]
        cfg = topo["config"]
        self.layers = cfg["layers"] if isinstance(cfg, dict) else cfg
        manifest = mj["weightsManifest"][0]
        data = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in manifest["paths"])
        self.weights = {}
        off = 0
        for w in manifest["weights"]:
            assert w["dtype"] == "float32" and "quantization" not in w
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            arr = np.frombuffer(data, dtype="<f4", count=n, offset=off).reshape(w["shape"]).astype(np.float64)
            off += 4 * n
            self.weights[w["name"]] = torch.tensor(arr, requires_grad=True)
        self.states = {}

    def _w(self, prefix, name):
        return self.weights[f"{prefix}/{name}"]

    def _recurrent(self, cls, c, prefix, x, node, backwards):
        """One LSTM/GRU/SimpleRNN layer on [B, T, F]: per-step outputs [B, T, U] in time order
        (processing order reversed back for go-backwards) or the last output."""
        U = c["units"]
        act = _keras_act(c.get("activation", "tanh"))
        rec_act = _keras_act(c.get("recurrent_activation", "hard_sigmoid"))
        k, rk = self._w(prefix, "kernel"), self._w(prefix, "recurrent_kernel")
        b = self._w(prefix, "bias") if c.get("use_bias", True) else None
        B, T, _ = x.shape
        h = x.new_zeros(B, U)
        cell = x.new_zeros(B, U)
        outs, kept = [], []
        for s in range(T):
            t = T - 1 - s if backwards else s
            xt = x[:, t]
            if cls == "LSTM":
                z = xt @ k + h @ rk + (b if b is not None else 0)
                zi, zf, zc, zo = z.split(U, 1)
                cell = rec_act(zf) * cell + rec_act(zi) * act(zc)
                h = rec_act(zo) * act(cell)
            elif cls == "GRU":
                mx = xt @ k + (b if b is not None else 0)
                xz, xr, xh = mx.split(U, 1)
                rz, rr = (h @ rk[:, : 2 * U]).split(U, 1)
                zg = rec_act(xz + rz)
                r = rec_act(xr + rr)
                hh = act(xh + (r * h) @ rk[:, 2 * U :])
                h = zg * h + (1 - zg) * hh
            else:
                h = act(xt @ k + (b if b is not None else 0) + h @ rk)
            h.retain_grad()
            kept.append((t, h))
            outs.append(h)
        self.states[(node, "reverse" if backwards else "forward")] = [hh for _, hh in sorted(kept, key=lambda p: p[0])]
        if not c.get("return_sequences", False):
            return h
        seq = torch.stack(outs, 1)
        return seq.flip(1) if backwards else seq

    def __call__(self, x):
        for layer in self.layers:
            cls, c = layer["class_name"], layer["config"]
            name = c["name"]
            if cls == "InputLayer":
                continue
            if cls == "Dense":
                x = _keras_act(c.get("activation", "linear"))(x @ self._w(name, "kernel") + self._w(name, "bias"))
            elif cls in ("LSTM", "GRU", "SimpleRNN"):
                x = self._recurrent(cls, c, name, x, name, c.get("go_backwards", False))
            elif cls == "Bidirectional":
                inner = c["layer"]
                icls, ic = inner["class_name"], inner["config"]
                fwd = self._recurrent(icls, ic, f"{name}/forward_{ic['name']}", x, name, False)
                bwd = self._recurrent(icls, ic, f"{name}/backward_{ic['name']}", x, name, True)
                mode = c.get("merge_mode", "concat")
                x = {"concat": lambda: torch.cat([fwd, bwd], -1), "sum": lambda: fwd + bwd,
                     "mul": lambda: fwd * bwd, "ave": lambda: (fwd + bwd) / 2}[mode]()
            else:
                raise SystemExit(f"KerasInterpreter: layer class {cls} is not supported")
        return x


def write_tfjs(only, root, out_dir, input_seed, refs):
    """PyTorch float64 references for the TF.js recurrent fixtures (test/fixtures/tfjs-layers/…),
    written to test/fixtures/grads/tfjs-layers/NAME.json with the batch as NAME.input.npy."""
    import json

    rows = []
    sub = os.path.join(out_dir, "tfjs-layers")
    os.makedirs(sub, exist_ok=True)
    for name in TFJS_MODELS:
        if only and f"tfjs_{name}" not in only:
            continue
        model_dir = os.path.join(root, "test", "fixtures", "tfjs-layers", name)
        net = KerasInterpreter(model_dir)
        x = np.random.default_rng(input_seed).standard_normal((BATCH, 6, 4)).astype(np.float32)
        loss = refs.mean_square(net(torch.from_numpy(x).double()))
        loss.backward()
        params = []
        for wname, w in net.weights.items():
            g = w.grad.reshape(-1)
            idx = refs.sample_indices(g.numel())
            params.append(
                {
                    "name": wname,
                    "shape": list(w.shape),
                    "weightL2": float(w.detach().norm()),
                    "l2": float(g.norm()),
                    "maxAbs": float(g.abs().max()),
                    "meanAbs": float(g.abs().mean()),
                    "sample": {"index": idx, "value": [float(g[i]) for i in idx]},
                }
            )
        np.save(os.path.join(sub, f"{name}.input.npy"), x)
        rec = {
            "$comment": "Written by scripts/make_grad_refs.py (PyTorch float64 autograd); do not edit.",
            "model": f"test/fixtures/tfjs-layers/{name}/model.json",
            "input": f"test/fixtures/grads/tfjs-layers/{name}.input.npy",
            "inputShape": list(x.shape),
            "loss": {"kind": "mean-square", "value": float(loss)},
            "torch": torch.__version__,
            "params": params,
            "timesteps": [
                {"node": node, "direction": d, "l2": [float(h.grad.norm()) for h in hs]}
                for (node, d), hs in net.states.items()
            ],
        }
        with open(os.path.join(sub, f"{name}.json"), "w") as f:
            json.dump(rec, f, indent=1)
            f.write("\n")
        rows.append((f"tfjs_{name}", len(params), float(loss)))
    return rows
