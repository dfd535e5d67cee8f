/**
 * The operator names of the ONNX standard domains (all opset versions, from onnx 1.12.0's schemas),
 * so that an op Skipscope does not know is shown as a node of unknown kind.
 */

const STANDARD = new Set(
  // Parenthesised: .split must apply to the whole concatenation, not only to its last piece.
  (
    'Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh AveragePool BatchNormalization ' +
    'Bernoulli BitShift BlackmanWindow Cast CastLike Ceil Celu Clip Compress Concat ' +
    'ConcatFromSequence Constant ConstantOfShape Conv ConvInteger ConvTranspose Cos Cosh CumSum DFT ' +
    'DepthToSpace DequantizeLinear Det Div Dropout DynamicQuantizeLinear Einsum Elu Equal Erf Exp ' +
    'Expand EyeLike Flatten Floor GRU Gather GatherElements GatherND Gemm GlobalAveragePool ' +
    'GlobalLpPool GlobalMaxPool Greater GreaterOrEqual GridSample HammingWindow HannWindow ' +
    'HardSigmoid HardSwish Hardmax Identity If InstanceNormalization IsInf IsNaN LRN LSTM ' +
    'LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax Loop LpNormalization LpPool MatMul ' +
    'MatMulInteger Max MaxPool MaxRoiPool MaxUnpool Mean MeanVarianceNormalization MelWeightMatrix ' +
    'Min Mod Mul Multinomial Neg NegativeLogLikelihoodLoss NonMaxSuppression NonZero Not OneHot ' +
    'Optional OptionalGetElement OptionalHasElement Or PRelu Pad Pow QLinearConv QLinearMatMul ' +
    'QuantizeLinear RNN RandomNormal RandomNormalLike RandomUniform RandomUniformLike Range ' +
    'Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin ' +
    'ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize ReverseSequence RoiAlign Round STFT ' +
    'Scan Scatter ScatterElements ScatterND Selu SequenceAt SequenceConstruct SequenceEmpty ' +
    'SequenceErase SequenceInsert SequenceLength SequenceMap Shape Shrink Sigmoid Sign Sin Sinh Size ' +
    'Slice Softmax SoftmaxCrossEntropyLoss Softplus Softsign SpaceToDepth Split SplitToSequence Sqrt ' +
    'Squeeze StringNormalizer Sub Sum Tan Tanh TfIdfVectorizer ThresholdedRelu Tile TopK Transpose ' +
    'Trilu Unique Unsqueeze Upsample Where Xor '
  )
    .trim()
    .split(' '),
);

// Operators added after the onnx release above (opsets 18–23).
for (const op of 'AffineGrid Attention BitwiseAnd BitwiseNot BitwiseOr BitwiseXor CenterCropPad Col2Im DeformConv Gelu GroupNormalization ImageDecoder Mish RMSNormalization RegexFullMatch RotaryEmbedding StringConcat StringSplit Swish TensorScatter'.split(
  ' ',
)) {
  STANDARD.add(op);
}

const ML = new Set(
  (
    'ArrayFeatureExtractor Binarizer CastMap CategoryMapper DictVectorizer FeatureVectorizer Imputer ' +
    'LabelEncoder LinearClassifier LinearRegressor Normalizer OneHotEncoder SVMClassifier ' +
    'SVMRegressor Scaler TreeEnsembleClassifier TreeEnsembleRegressor ZipMap '
  )
    .trim()
    .split(' '),
);

/** True when `op` is an operator of the ONNX standard (or ML) domain. Custom domains are unknown. */
export function isKnownOnnxOp(domain: string, op: string): boolean {
  if (domain === '' || domain === 'ai.onnx') return STANDARD.has(op);
  if (domain === 'ai.onnx.ml') return ML.has(op);
  return false;
}
