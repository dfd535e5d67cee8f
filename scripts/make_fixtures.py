#!/usr/bin/python3
"""Export every ONNX fixture (and samples/sample.onnx) and write their rows of test/fixtures/expected.json.

Run with Debian's Python, which has python3-torch and python3-onnx:
    /usr/bin/python3 scripts/make_fixtures.py [NAME ...]
(`npm run fixtures` does that). Started with another interpreter, the script re-executes itself
under /usr/bin/python3. Exports are deterministic (fixed seeds, fixed exporter settings), so a
rerun rewrites identical files. The rows it writes come from the model definitions in
scripts/fixture_models.py (parameter counts from PyTorch, skip counts from the blocks each model
is built from) and from the exported file as the onnx library reads it (node count, inputs);
rows for other formats (written by scripts/make_tfjs_fixtures.ts) are kept as they are.

    --full-resnet50 PATH   also export a full-width (torchvision-sized, ~100 MB) ResNet-50 to
                           PATH for the parse benchmark; not a committed fixture.
"""

import os
import sys

DEBIAN_PYTHON = "/usr/bin/python3"
# The exporter names model-local function variants in set-iteration order, which depends on
# string hashing: a fixed hash seed keeps reruns byte-identical.
if __name__ == "__main__" and (os.environ.get("PYTHONHASHSEED") != "0" or (
    os.path.exists(DEBIAN_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(DEBIAN_PYTHON)
)):
    exe = DEBIAN_PYTHON if os.path.exists(DEBIAN_PYTHON) else sys.executable
    os.execve(exe, [exe, os.path.abspath(__file__), *sys.argv[1:]], {**os.environ, "PYTHONHASHSEED": "0"})

import json  # noqa: E402
import re  # noqa: E402
import warnings  # noqa: E402

import onnx  # noqa: E402
import onnx.numpy_helper  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_models as fm  # noqa: E402
import volume_models  # noqa: E402,F401  (registers the 3-D fixtures in fm.MODELS)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "test", "fixtures")
EXPECTED = os.path.join(FIXTURES, "expected.json")
OPSET = 17

# (repo-relative file, fixture_models name, folded, extra export options)
ONNX_FIXTURES = [
    ("samples/sample.onnx", "sample", False, {}),
    ("test/fixtures/onnx/resnet18.onnx", "resnet18", False, {}),
    ("test/fixtures/onnx/resnet50.onnx", "resnet50", False, {}),
    ("test/fixtures/onnx/densenet121.onnx", "densenet121", False, {}),
    ("test/fixtures/onnx/unet.onnx", "unet", False, {}),
    ("test/fixtures/onnx/inception.onnx", "inception", False, {}),
    ("test/fixtures/onnx/squeezenet.onnx", "squeezenet", False, {}),
    ("test/fixtures/onnx/mobilenetv2.onnx", "mobilenetv2", False, {}),
    ("test/fixtures/onnx/se_resnet.onnx", "se_resnet", False, {}),
    ("test/fixtures/onnx/transformer.onnx", "transformer", False, {}),
    ("test/fixtures/onnx/resnet18_external.onnx", "resnet18_tiny", False, {"external": True}),
    ("test/fixtures/onnx/resnet18_functions.onnx", "resnet18_tiny", False, {"functions": True}),
    ("test/fixtures/onnx/if_branch.onnx", "gated_if", False, {"script": True}),
    ("test/fixtures/onnx/probe/resnet18.onnx", "resnet18", True, {}),
    ("test/fixtures/onnx/probe/unet.onnx", "unet", True, {}),
    ("test/fixtures/onnx/probe/densenet.onnx", "densenet_small", True, {}),
    ("test/fixtures/onnx/probe/mobilenetv2.onnx", "mobilenetv2", True, {}),
    ("test/fixtures/onnx/probe/se_resnet.onnx", "se_resnet", True, {}),
    ("test/fixtures/onnx/probe/transformer.onnx", "transformer", True, {}),
    ("test/fixtures/onnx/probe/mlp_sigmoid40.onnx", "mlp_sigmoid40", True, {}),
    ("test/fixtures/onnx/probe/mlp_relu40.onnx", "mlp_relu40", True, {}),
    ("test/fixtures/onnx/probe/resnet_nonorm.onnx", "resnet_nonorm", True, {}),
    ("test/fixtures/onnx/probe/plain_deep.onnx", "plain_deep", True, {}),
    ("test/fixtures/onnx/probe/unet3d.onnx", "unet3d", True, {}),
    ("test/fixtures/onnx/probe/r3d18.onnx", "r3d18", True, {}),
]


def fail(msg):
    print(f"make_fixtures: {msg}", file=sys.stderr)
    sys.exit(1)


def export(model, shape, path, folded, functions=False, script=False):
    """Classic TorchScript-based exporter, opset 17, batch dim dynamic and named "batch".

    With `script`, the module is compiled with torch.jit.script first, so Python control flow
    on data becomes ONNX If/Loop nodes instead of being traced away."""
    kwargs = {}
    if script:
        model = torch.jit.script(model)
    if functions:
        kwargs["export_modules_as_functions"] = {fm.BasicBlock}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (fm.example_input(shape),),
            path,
            opset_version=OPSET,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            do_constant_folding=not folded,
            training=torch.onnx.TrainingMode.EVAL,
            **kwargs,
        )


def canonical_functions(model):
    """Name function variants by first use in the graph and store them in that order.

    The exporter numbers variants of one module class (BasicBlock, BasicBlock.1) in an order that
    changes from run to run; renaming by first use keeps the file byte-identical across reruns.
    """
    by_name = {(f.domain, f.name): f for f in model.functions}
    order = []
    for node in model.graph.node:
        key = (node.domain, node.op_type)
        if key in by_name and key not in order:
            order.append(key)
    order += sorted(k for k in by_name if k not in order)
    renamed = {}
    counts = {}
    for domain, name in order:
        base = name.split(".")[0]
        k = counts.get((domain, base), 0)
        counts[(domain, base)] = k + 1
        renamed[(domain, name)] = base if k == 0 else f"{base}.{k}"
    nodes = list(model.graph.node) + [n for f in model.functions for n in f.node]
    for node in nodes:
        key = (node.domain, node.op_type)
        if key in renamed:
            node.op_type = renamed[key]
    values = {}
    for node in model.graph.node:
        key = (node.domain, node.op_type)
        if key in by_name.keys() or node.op_type in {v for v in renamed.values()}:
            scope = node.name.rsplit("/", 1)[0]
            node.name = f"{scope}/{node.op_type}"
            for j, n in enumerate(list(node.output)):
                values[n] = f"{node.name}_output_{j}"
    for node in model.graph.node:
        for i, n in enumerate(list(node.input)):
            node.input[i] = values.get(n, n)
        for i, n in enumerate(list(node.output)):
            node.output[i] = values.get(n, n)
    for out in model.graph.output:
        out.name = values.get(out.name, out.name)
    # The exporter's value_info (intermediate shapes) is optional and differs from run to run here.
    del model.graph.value_info[:]
    funcs = []
    for key in order:
        f = onnx.FunctionProto()
        f.CopyFrom(by_name[key])
        f.name = renamed[key]
        # Formal parameter and intermediate names are tracer value names that differ between runs.
        formal = {n: f"in{i}" for i, n in enumerate(f.input)}
        formal.update({n: f"out{i}" for i, n in enumerate(f.output)})
        for i, n in enumerate(list(f.input)):
            f.input[i] = formal[n]
        for i, n in enumerate(list(f.output)):
            f.output[i] = formal[n]
        for k, node in enumerate(f.node):
            node.name = f"{node.op_type}_{k}"
            for j, n in enumerate(node.output):
                formal.setdefault(n, f"{node.name}_output_{j}")
        for node in f.node:
            for i, n in enumerate(list(node.input)):
                node.input[i] = formal.get(n, n)
            for i, n in enumerate(list(node.output)):
                node.output[i] = formal.get(n, n)
        funcs.append(f)
    del model.functions[:]
    model.functions.extend(funcs)
    return model


def check_initializers_are_params(model, onnx_model, path):
    """Probe fixtures: the initializers must be exactly the PyTorch parameters (same names, shapes
    and values), so gradients per initializer compare one-to-one with PyTorch autograd."""
    params = {n: p.detach() for n, p in model.named_parameters()}
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in onnx_model.graph.initializer}
    missing = sorted(set(params) - set(inits))
    extra = sorted(set(inits) - set(params))
    if missing or extra:
        fail(f"{path}: initializers differ from PyTorch parameters: missing {missing[:5]}, extra {extra[:5]}")
    for n, arr in inits.items():
        p = params[n].numpy()
        if tuple(arr.shape) != tuple(p.shape) or not (arr == p).all():
            fail(f"{path}: initializer {n} differs from the PyTorch parameter")


def dims(value_info):
    out = []
    for d in value_info.type.tensor_type.shape.dim:
        out.append(d.dim_param if d.HasField("dim_param") else d.dim_value)
    return out


def make_onnx(entry):
    rel, name, folded, opts = entry
    path = os.path.join(ROOT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    model, shape = fm.build(name, folded)
    export(model, shape, path, folded, functions=opts.get("functions", False), script=opts.get("script", False))
    onnx_model = onnx.load(path)
    row_extra = {}
    if opts.get("functions"):
        onnx_model = canonical_functions(onnx_model)
        onnx.save_model(onnx_model, path)
    if opts.get("external"):
        location = os.path.basename(path) + ".data"
        data_path = os.path.join(os.path.dirname(path), location)
        if os.path.exists(data_path):
            os.remove(data_path)
        onnx.save_model(
            onnx_model,
            path,
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=location,
            size_threshold=1024,
        )
        onnx_model = onnx.load(path, load_external_data=False)
        n_ext = sum(
            t.data_location == onnx.TensorProto.EXTERNAL for t in onnx_model.graph.initializer
        )
        row_extra["externalData"] = {"file": location, "tensors": n_ext}
    onnx.checker.check_model(path, full_check=True)
    if folded:
        check_initializers_are_params(model, onnx.load(path), rel)
    if opts.get("functions"):
        row_extra["functions"] = len(onnx_model.functions)
        if not onnx_model.functions:
            fail(f"{rel}: no model-local functions were exported")
    graph = onnx_model.graph
    if opts.get("script"):
        row_extra["subgraphs"] = {
            n.name: sorted(a.name for a in n.attribute if a.type == onnx.AttributeProto.GRAPH)
            for n in graph.node
            if any(a.type == onnx.AttributeProto.GRAPH for a in n.attribute)
        }
        if not row_extra["subgraphs"]:
            fail(f"{rel}: scripting produced no control-flow node")
    inits = {t.name for t in graph.initializer}
    numel = 0
    for t in graph.initializer:
        n = 1
        for d in t.dims:
            n *= d
        numel += n
    row = {
        "file": rel,
        "format": "onnx",
        "model": name,
        "folded": folded,
        "torchParams": fm.torch_params(model),
        "onnxNodes": len(graph.node),
        "onnxInitializers": len(graph.initializer),
        "onnxInitializerElements": numel,
        "opset": OPSET,
        "inputs": {i.name: dims(i) for i in graph.input if i.name not in inits},
        "outputs": {o.name: dims(o) for o in graph.output},
        "skips": model.expected_skips(),
        **row_extra,
    }
    if folded:
        row["initializersArePytorchParams"] = True
    if hasattr(model, "conv_flops"):
        row["convFlops"] = model.conv_flops(shape)
    size = sum(
        os.path.getsize(os.path.join(os.path.dirname(path), f))
        for f in os.listdir(os.path.dirname(path))
        if f == os.path.basename(path) or f == os.path.basename(path) + ".data"
    )
    if size > 2 * 1024 * 1024:
        fail(f"{rel}: {size} bytes, over the 2 MB fixture limit")
    print(f"{rel}: {size} bytes, {row['onnxNodes']} nodes, {row['torchParams']} params, skips {row['skips']}")
    return row


def write_expected(rows):
    """Replace this script's rows in expected.json, keeping rows other generators wrote."""
    table = {"fixtures": []}
    if os.path.exists(EXPECTED):
        with open(EXPECTED) as f:
            table = json.load(f)
    mine = {r["file"] for r in rows}
    kept = [r for r in table.get("fixtures", []) if r["file"] not in mine]
    table = {
        "$comment": "One row per fixture file; counts come from the architectures (see test/fixtures/README.md). Generated by scripts/make_fixtures.py and scripts/make_tfjs_fixtures.ts.",
        "fixtures": sorted(kept + rows, key=lambda r: r["file"]),
    }
    with open(EXPECTED, "w") as f:
        f.write(dump_json(table))


def dump_json(value):
    """Two-space JSON with short arrays of numbers/strings (shapes) kept on one line, as
    scripts/make_tfjs_fixtures.ts writes it too."""
    text = json.dumps(value, indent=2)
    return re.sub(r"\[\s*([^\[\]{}]*?)\s*\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text) + "\n"


def main(argv):
    full = None
    if "--full-resnet50" in argv:
        i = argv.index("--full-resnet50")
        full = argv[i + 1]
        argv = argv[:i] + argv[i + 2 :]
    only = set(argv)
    rows = [make_onnx(e) for e in ONNX_FIXTURES if not only or e[1] in only or e[0] in only]
    write_expected(rows)
    if full:
        torch.manual_seed(fm.SEED)
        model = fm.ResNet(fm.Bottleneck, [3, 4, 6, 3], [64, 128, 256, 512], num_classes=1000).eval()
        export(model, (1, 3, 224, 224), full, folded=False)
        print(f"{full}: {os.path.getsize(full)} bytes (full-width ResNet-50, not a fixture)")


if __name__ == "__main__":
    main(sys.argv[1:])
