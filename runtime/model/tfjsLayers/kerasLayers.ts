/**
 * Keras layer classes TF.js can save, so that a class Skipscope does not know shows as a node of
 * unknown kind (a Lambda, a custom layer) rather than being guessed at.
 */
const KNOWN = new Set(
  (
    'Dense Conv1D Conv2D Conv3D Conv2DTranspose Conv3DTranspose DepthwiseConv2D SeparableConv1D SeparableConv2D ' +
    'MaxPooling1D MaxPooling2D MaxPooling3D AveragePooling1D AveragePooling2D AveragePooling3D ' +
    'GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D GlobalMaxPooling1D GlobalMaxPooling2D GlobalMaxPooling3D ' +
    'BatchNormalization LayerNormalization Activation ReLU LeakyReLU PReLU ELU ThresholdedReLU Softmax ' +
    'Dropout SpatialDropout1D SpatialDropout2D AlphaDropout GaussianDropout GaussianNoise ' +
    'Flatten Reshape Permute RepeatVector Embedding Masking Rescaling CenterCrop Resizing ' +
    'Add Multiply Subtract Average Maximum Minimum Concatenate Dot ' +
    'UpSampling1D UpSampling2D UpSampling3D ZeroPadding1D ZeroPadding2D ZeroPadding3D Cropping1D Cropping2D Cropping3D ' +
    'LSTM GRU SimpleRNN ConvLSTM2D Bidirectional TimeDistributed RNN InputLayer'
  ).split(' '),
);

/** True for Keras layer classes Skipscope knows. */
export function isKnownKerasLayer(cls: string): boolean {
  return KNOWN.has(cls);
}
