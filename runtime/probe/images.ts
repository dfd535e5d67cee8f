/**
 * Image-folder batches: PNG and JPEG decoded in JS (pngjs, jpeg-js), resized and normalised into
 * the model's NCHW input.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import { ModelError, describeError } from '../errors';

const IMAGE = /\.(png|jpe?g)$/i;

/** The image files of `folder`, sorted by name. */
export function listImages(folder: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    throw new ModelError(`${folder}: the image folder does not exist or cannot be read.`, folder);
  }
  const files = names.filter((n) => IMAGE.test(n)).sort();
  if (files.length === 0) throw new ModelError(`${folder}: the folder holds no .png or .jpg images.`, folder);
  return files.map((n) => path.join(folder, n));
}

/** Decodes one image to RGBA bytes. */
function decode(file: string): { width: number; height: number; data: Uint8Array } {
  const buf = fs.readFileSync(file);
  try {
    if (/\.png$/i.test(file)) {
      const png = PNG.sync.read(buf);
      return { width: png.width, height: png.height, data: png.data };
    }
    const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true });
    return { width: img.width, height: img.height, data: img.data };
  } catch (e) {
    throw new ModelError(`${file}: cannot decode the image (${describeError(e)}).`, file);
  }
}

/** Normalisation of image pixels after scaling to [0, 1]. */
export interface ImageNorm {
  mean: number[];
  std: number[];
}

/** Default normalisation: ImageNet statistics for RGB, 0.5/0.5 for gray. */
export function defaultNorm(channels: number): ImageNorm {
  return channels === 3
    ? { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }
    : { mean: Array(channels).fill(0.5), std: Array(channels).fill(0.5) };
}

/** Loads `files` as one NCHW float batch of size [files.length, channels, h, w]. */
export function loadImageBatch(
  files: string[],
  channels: number,
  h: number,
  w: number,
  norm: ImageNorm,
): tf.Tensor {
  if (channels !== 1 && channels !== 3)
    throw new ModelError(`the model input has ${channels} channels; image folders feed 1 (gray) or 3 (RGB).`);
  return tf.tidy(() => {
    const imgs = files.map((f) => {
      const { width, height, data } = decode(f);
      const rgba = tf.tensor3d(Float32Array.from(data), [height, width, 4]);
      let img = tf.slice(rgba, [0, 0, 0], [height, width, 3]);
      if (channels === 1) img = tf.mean(img, 2, true);
      const resized = tf.image.resizeBilinear(img as tf.Tensor3D, [h, w], false, true);
      const scaled = tf.div(resized, 255);
      return tf.div(tf.sub(scaled, tf.tensor1d(norm.mean)), tf.tensor1d(norm.std));
    });
    return tf.transpose(tf.stack(imgs), [0, 3, 1, 2]);
  });
}
