"""Writes the ONNX cases the reader tests need into OUT_DIR (argv[1]), with onnx.helper, and
expected shapes from onnx.shape_inference for the real fixtures (argv[2:]) into OUT_DIR/shapes.json.
Run with Debian's /usr/bin/python3 (python3-onnx)."""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
OPSET = [helper.make_opsetid("", 17)]


def save(graph, name, **kw):
    m = helper.make_model(graph, opset_imports=OPSET, producer_name="skipscope-tests", **kw)
    onnx.save(m, os.path.join(out, name))


# 1. External data over 2 GB: one 2.4 GB weight in a sparse file, and a small one read for real.
big = TensorProto()
big.name = "W"
big.data_type = TensorProto.FLOAT
big.dims.extend([60000, 10000])
big.data_location = TensorProto.EXTERNAL
for k, v in (("location", "big.bin"), ("offset", "4096"), ("length", str(60000 * 10000 * 4))):
    e = big.external_data.add()
    e.key, e.value = k, v
small = TensorProto()
small.name = "b"
small.data_type = TensorProto.FLOAT
small.dims.extend([10000])
small.data_location = TensorProto.EXTERNAL
for k, v in (("location", "big.bin"), ("offset", "0"), ("length", "40000")):
    e = small.external_data.add()
    e.key, e.value = k, v
g = helper.make_graph(
    [helper.make_node("Gemm", ["x", "W", "b"], ["y"], name="fc")],
    "big",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 60000])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10000])],
    [big, small],
)
save(g, "big_external.onnx")
with open(os.path.join(out, "big.bin"), "wb") as f:
    f.write(np.arange(10000, dtype=np.float32).tobytes())
    f.truncate(4096 + 60000 * 10000 * 4)  # sparse: no disk blocks for the big weight
# Same model pointing at a data file that is not there.
for t in g.initializer:
    for e in t.external_data:
        if e.key == "location":
            e.value = "gone.bin"
save(g, "missing_external.onnx")
# ...and one pointing outside the model's folder.
for t in g.initializer:
    for e in t.external_data:
        if e.key == "location":
            e.value = "../../etc/passwd"
save(g, "escaping_external.onnx")

# 2. Control flow: If with then/else bodies reading an outer value, Loop with a body.
then_g = helper.make_graph([helper.make_node("Relu", ["h"], ["t_out"])], "then", [], [helper.make_tensor_value_info("t_out", TensorProto.FLOAT, None)])
else_g = helper.make_graph([helper.make_node("Neg", ["h"], ["e_out"])], "else", [], [helper.make_tensor_value_info("e_out", TensorProto.FLOAT, None)])
body = helper.make_graph(
    [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Add", ["v_in", "h"], ["v_out"])],
    "body",
    [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []), helper.make_tensor_value_info("v_in", TensorProto.FLOAT, None)],
    [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), helper.make_tensor_value_info("v_out", TensorProto.FLOAT, None)],
)
g = helper.make_graph(
    [
        helper.make_node("Relu", ["x"], ["h"], name="pre"),
        helper.make_node("If", ["c"], ["if_out"], name="branch", then_branch=then_g, else_branch=else_g),
        helper.make_node("Loop", ["n", "c", "if_out"], ["loop_out"], name="loop", body=body),
    ],
    "cf",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]), helper.make_tensor_value_info("c", TensorProto.BOOL, []), helper.make_tensor_value_info("n", TensorProto.INT64, [])],
    [helper.make_tensor_value_info("loop_out", TensorProto.FLOAT, None)],
)
save(g, "control_flow.onnx")

# 3. Shape arithmetic and tied weights: Shape→Gather→Unsqueeze→Concat→Reshape; W read directly and via Identity.
W = numpy_helper.from_array(np.ones((4, 4), np.float32), "W")
g = helper.make_graph(
    [
        helper.make_node("Identity", ["W"], ["W_alias"], name="alias"),
        helper.make_node("MatMul", ["x", "W"], ["a"], name="mm1"),
        helper.make_node("MatMul", ["a", "W_alias"], ["b"], name="mm2"),
        helper.make_node("Shape", ["b"], ["s"], name="shape"),
        helper.make_node("Constant", [], ["zero"], name="zero", value=numpy_helper.from_array(np.array(0, np.int64))),
        helper.make_node("Gather", ["s", "zero"], ["n"], name="gather", axis=0),
        helper.make_node("Constant", [], ["ax"], name="ax", value=numpy_helper.from_array(np.array([0], np.int64))),
        helper.make_node("Unsqueeze", ["n", "ax"], ["n1"], name="unsq"),
        helper.make_node("Constant", [], ["rest"], name="rest", value=numpy_helper.from_array(np.array([2, 2], np.int64))),
        helper.make_node("Concat", ["n1", "rest"], ["target"], name="cat", axis=0),
        helper.make_node("Reshape", ["b", "target"], ["y"], name="reshape"),
    ],
    "arith",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    [W],
)
save(g, "shape_arith.onnx")

# 3b. A sparse initializer (coordinates) and a linear-indexed one.
sp_vals = numpy_helper.from_array(np.array([1.5, -2.0, 3.0], np.float32), "S")
sp_idx = numpy_helper.from_array(np.array([[0, 1], [1, 0], [2, 3]], np.int64), "S_idx")
sp = helper.make_sparse_tensor(sp_vals, sp_idx, [3, 4])
lin_vals = numpy_helper.from_array(np.array([7.0], np.float32), "L")
lin_idx = numpy_helper.from_array(np.array([5], np.int64), "L_idx")
lin = helper.make_sparse_tensor(lin_vals, lin_idx, [2, 4])
g = helper.make_graph(
    [helper.make_node("MatMul", ["x", "S"], ["y"], name="mm"), helper.make_node("Add", ["y", "L2"], ["z"], name="add")],
    "sparse",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
    [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)],
    [numpy_helper.from_array(np.zeros((2, 4), np.float32), "L2")],
    sparse_initializer=[sp, lin],
)
save(g, "sparse.onnx")

# 4. A cycle.
g = helper.make_graph(
    [helper.make_node("Add", ["x", "q"], ["p"], name="a"), helper.make_node("Relu", ["p"], ["q"], name="b")],
    "cyc",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
    [helper.make_tensor_value_info("q", TensorProto.FLOAT, [1])],
)
save(g, "cycle.onnx")

# 5. An op zoo for shape inference: many ops and attribute variants, each checked against onnx.
def const(name, arr):
    return helper.make_node("Constant", [], [name], name=name, value=numpy_helper.from_array(np.array(arr)))


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


Wt = numpy_helper.from_array(np.ones((8, 4, 3, 3), np.float32), "Wt")  # ConvTranspose: [Cin, Cout/g, k, k]
Wc = numpy_helper.from_array(np.ones((6, 8, 3, 3), np.float32), "Wc")
nodes = [
    helper.make_node("ConvTranspose", ["x", "Wt"], ["ct"], strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]),
    helper.make_node("Conv", ["x", "Wc"], ["cv"], strides=[2, 2], auto_pad="SAME_UPPER"),
    helper.make_node("Conv", ["x", "Wc"], ["cd"], dilations=[2, 2], pads=[0, 1, 2, 1]),
    helper.make_node("MaxPool", ["x"], ["mp"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
    helper.make_node("AveragePool", ["x"], ["ap"], kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_LOWER"),
    helper.make_node("GlobalMaxPool", ["x"], ["gp"]),
    const("sl_s", [-1, 1]), const("sl_e", [-1000, 100]), const("sl_a", [3, 1]), const("sl_st", [-2, 3]),
    helper.make_node("Slice", ["x", "sl_s", "sl_e", "sl_a", "sl_st"], ["sl"]),
    const("pads", [0, 0, 1, 2, 0, 0, 3, 4]),
    helper.make_node("Pad", ["x", "pads"], ["pd"]),
    const("split", [3, 5]),
    helper.make_node("Split", ["x", "split"], ["sp0", "sp1"], axis=1),
    helper.make_node("Split", ["x"], ["sq0", "sq1", "sq2", "sq3"], axis=2),
    const("scales", np.array([1, 1, 2, 0.5], np.float32)),
    helper.make_node("Resize", ["x", "", "scales"], ["rs"], mode="nearest"),
    const("sizes", [2, 8, 5, 7]),
    helper.make_node("Resize", ["x", "", "", "sizes"], ["rz"], mode="linear"),
    helper.make_node("Transpose", ["x"], ["tp"], perm=[0, 2, 3, 1]),
    helper.make_node("Flatten", ["x"], ["fl"], axis=2),
    helper.make_node("ReduceMean", ["x"], ["rm"], axes=[1, 3], keepdims=0),  # opset 17: axes is an attribute
    helper.make_node("ArgMax", ["x"], ["am"], axis=-1, keepdims=1),
    const("gi", [[0, 1], [1, 0]]),
    helper.make_node("Gather", ["x", "gi"], ["ga"], axis=2),
    const("ex", [3, 1, 1, 1, 1]),
    helper.make_node("Expand", ["x", "ex"], ["ep"]),
    const("reps", [1, 2, 1, 3]),
    helper.make_node("Tile", ["x", "reps"], ["ti"]),
    helper.make_node("DepthToSpace", ["x"], ["d2s"], blocksize=2),
    helper.make_node("SpaceToDepth", ["x"], ["s2d"], blocksize=2),
    const("k", [3]),
    helper.make_node("TopK", ["x", "k"], ["tkv", "tki"], axis=1),
    helper.make_node("Greater", ["x", "x"], ["gt"]),
    helper.make_node("Where", ["gt", "x", "x"], ["wh"]),
    helper.make_node("Cast", ["x"], ["ca"], to=TensorProto.FLOAT16),
    helper.make_node("Shape", ["x"], ["shp"]),
    helper.make_node("ConstantOfShape", ["shp"], ["cos"], value=numpy_helper.from_array(np.array([1], np.int32))),
    const("us_axes", [0, 3]),
    helper.make_node("Unsqueeze", ["x", "us_axes"], ["us"]),
    const("sq_axes", [0]),
    helper.make_node("Squeeze", ["us", "sq_axes"], ["sqz"]),
    const("rshape", [0, -1, 4]),
    helper.make_node("Reshape", ["x", "rshape"], ["rsh"]),
    helper.make_node("Flatten", ["x"], ["f2"], axis=1),
    helper.make_node("Gemm", ["f2", "Gf"], ["gm"], transB=1),
    helper.make_node("MatMul", ["bx", "by"], ["mm"]),
    helper.make_node("MatMul", ["v", "by"], ["mv"]),
    helper.make_node("Concat", ["x", "x", "sp0"], ["cc"], axis=1),
    helper.make_node("Softmax", ["x"], ["sm"], axis=1),
    helper.make_node("LayerNormalization", ["x", "ln_s", "ln_b"], ["ln"], axis=-1),
    helper.make_node("LSTM", ["seq", "lw", "lr"], ["ly", "lh", "lc"], hidden_size=5, direction="bidirectional"),
]
Gf = numpy_helper.from_array(np.ones((10, 8 * 8 * 6), np.float32), "Gf")
ln_s = numpy_helper.from_array(np.ones(6, np.float32), "ln_s")
ln_b = numpy_helper.from_array(np.zeros(6, np.float32), "ln_b")
lw = numpy_helper.from_array(np.ones((2, 20, 3), np.float32), "lw")
lr = numpy_helper.from_array(np.ones((2, 20, 5), np.float32), "lr")
g = helper.make_graph(
    nodes,
    "zoo",
    [vi("x", [2, 8, 8, 6]), vi("bx", ["batch", 3, 4, 5]), vi("by", [1, 5, 7]), vi("v", [5]), vi("seq", [7, "batch", 3])],
    [vi("ct", None)],
    [Wt, Wc, Gf, ln_s, ln_b, lw, lr],
)
save(g, "zoo.onnx")
zoo_path = os.path.join(out, "zoo.onnx")

# 6. onnx's own shape inference on the real fixtures (value_info stripped first): the reference.
shapes = {}
dtypes = {}
macs = {}


def dims_of(vi_map, name):
    v = vi_map.get(name)
    if v is None:
        return None
    return [d.dim_value if d.HasField("dim_value") else 1 for d in v.type.tensor_type.shape.dim]
for path in sys.argv[2:] + [zoo_path]:
    m = onnx.load(path, load_external_data=False)
    del m.graph.value_info[:]
    try:
        inf = shape_inference.infer_shapes(m, strict_mode=True) if path == zoo_path else shape_inference.infer_shapes(m)
    except Exception:
        continue
    d = {}
    dt = {}
    for vi in list(inf.graph.value_info) + list(inf.graph.output):
        t = vi.type.tensor_type
        if t.elem_type:
            dt[vi.name] = t.elem_type
        if not t.HasField("shape"):
            continue
        d[vi.name] = [x.dim_value if x.HasField("dim_value") else (x.dim_param if x.dim_param and not x.dim_param.startswith("unk__") else None) for x in t.shape.dim]
    shapes[path] = d
    dtypes[path] = dt
    # Reference multiply-adds of the learned ops (symbolic dims count as 1, as Skipscope counts them).
    vis = {v.name: v for v in list(inf.graph.value_info) + list(inf.graph.output) + list(inf.graph.input)}
    for t in inf.graph.initializer:
        vis[t.name] = helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
    per_node = {}
    for n in inf.graph.node:
        o = dims_of(vis, n.output[0])
        w = dims_of(vis, n.input[1]) if len(n.input) > 1 else None
        x = dims_of(vis, n.input[0]) if n.input else None
        if not o or not w or not x:
            continue
        if n.op_type == "Conv":
            per_node[n.name] = int(np.prod(o)) * int(np.prod(w[1:]))
        elif n.op_type == "Gemm" and len(x) == 2:
            trans_a = next((a.i for a in n.attribute if a.name == "transA"), 0)
            per_node[n.name] = int(np.prod(o)) * (x[0] if trans_a else x[1])
        elif n.op_type == "MatMul":
            per_node[n.name] = int(np.prod(o)) * x[-1]
    macs[path] = per_node
with open(os.path.join(out, "shapes.json"), "w") as f:
    json.dump(shapes, f)
with open(os.path.join(out, "dtypes.json"), "w") as f:
    json.dump(dtypes, f)
with open(os.path.join(out, "macs.json"), "w") as f:
    json.dump(macs, f)
