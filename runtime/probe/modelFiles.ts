/**
 * A TF.js IO handler that reads a model.json and its weight shards from disk, shared by the
 * layers and graph-model runners (tf.io's own file handlers need tfjs-node).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';

/** The handler for `file` (a model.json); shards are read from its folder. */
export function fileIoHandler(file: string): tf.io.IOHandler {
  const dir = path.dirname(file);
  return {
    load: async () => {
      const json = JSON.parse(fs.readFileSync(file, 'utf8')) as {
        modelTopology: object;
        weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
        format?: string;
        generatedBy?: string;
        convertedBy?: string | null;
        userDefinedMetadata?: Record<string, object>;
        signature?: object;
      };
      const specs = json.weightsManifest.flatMap((g) => g.weights);
      const buffers = json.weightsManifest.flatMap((g) =>
        g.paths.map((p) => fs.readFileSync(path.join(dir, p))),
      );
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? undefined,
        userDefinedMetadata: json.userDefinedMetadata,
        signature: json.signature,
      };
    },
  };
}
