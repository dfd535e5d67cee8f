/**
 * TensorFlow ops that TF.js graph models use (the converter's op list, abridged to the families
 * Skipscope draws), so that anything else shows as a node of unknown kind.
 */
const KNOWN = new Set(
  (
    'Abs Acos Add AddN AddV2 All Any ArgMax ArgMin Asin Atan AvgPool AvgPool3D BatchMatMul BatchMatMulV2 BatchToSpaceND ' +
    'BiasAdd BroadcastTo Cast Ceil ClipByValue Complex ConcatV2 Concat Const Conv1D Conv2D Conv2DBackpropInput Conv3D Cos Cosh ' +
    'CropAndResize Cumsum DepthToSpace DepthwiseConv2d DepthwiseConv2dNative Div DivNoNan Einsum Elu Enter Equal Erf Exit Exp ' +
    'ExpandDims Fill Floor FloorDiv FloorMod FusedBatchNorm FusedBatchNormV2 FusedBatchNormV3 FusedDepthwiseConv2dNative ' +
    'Gather GatherNd GatherV2 Greater GreaterEqual Identity IdentityN If LeakyRelu Less LessEqual Log Log1p LogSoftmax ' +
    'LogicalAnd LogicalNot LogicalOr LoopCond MatMul Max MaxPool MaxPool3D MaxPoolWithArgmax Maximum Mean Merge Min Minimum ' +
    'MirrorPad Mod Mul Neg NextIteration NoOp NonMaxSuppressionV3 NonMaxSuppressionV4 NonMaxSuppressionV5 NotEqual OneHot ' +
    'Ones OnesLike Pack Pad PadV2 Placeholder PlaceholderWithDefault Pow Prelu Prod Range Rank RealDiv Reciprocal Relu ' +
    'Relu6 Reshape ResizeBilinear ResizeNearestNeighbor Reverse ReverseV2 Round Rsqrt Select SelectV2 Selu Shape ShapeN ' +
    'Sigmoid Sign Sin Sinh Size Slice Snapshot Softmax Softplus Softsign SpaceToBatchND Split SplitV Sqrt Square ' +
    'SquaredDifference Squeeze StatelessIf StatelessWhile StopGradient StridedSlice Sub Sum Switch Tan Tanh Tile TopKV2 ' +
    'Transpose Unpack Where While ZerosLike _FusedConv2D _FusedMatMul Conv2DBackpropInputV2 Swish Relu6'
  ).split(' '),
);

/** True for TF ops Skipscope knows. */
export function isKnownTfOp(op: string): boolean {
  return KNOWN.has(op);
}
