/**
 * Dawn's Node binding (`dawn.node`, shipped prebuilt inside the `webgpu` npm package) for this
 * platform, and the few WebGPU types the probe touches. The binary is looked for next to the
 * bundle first (dist/dawn/<platform>-<arch>/, what a platform-specific .vsix carries), then in
 * node_modules/webgpu (a clone). Loading it maps about 20 MB, so only a request that needs a GPU
 * does it, once per process.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The limits of a device that the probe's memory guard reads. */
export interface GpuLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeWorkgroupsPerDimension: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxStorageBuffersPerShaderStage: number;
}

/** What an adapter says about itself (WebGPU's GPUAdapterInfo). */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}

/** A WebGPU error as error scopes and uncapturederror events deliver it. */
export interface GpuError {
  message: string;
  constructor: { name: string };
}

/** The parts of GPUDevice the probe uses. */
export interface GpuDevice {
  readonly limits: GpuLimits;
  readonly lost: Promise<{ reason: string; message: string }>;
  onuncapturederror: ((e: { error: GpuError }) => void) | null;
  pushErrorScope(filter: 'validation' | 'out-of-memory' | 'internal'): void;
  popErrorScope(): Promise<GpuError | null>;
  destroy(): void;
}

/** The parts of GPUAdapter the probe uses. */
export interface GpuAdapter {
  readonly info: GpuAdapterInfo;
  readonly limits: GpuLimits;
  readonly features: { has(name: string): boolean };
  requestDevice(descriptor?: {
    requiredLimits?: Partial<GpuLimits>;
    requiredFeatures?: string[];
  }): Promise<GpuDevice>;
}

/** navigator.gpu as Dawn gives it. */
export interface Gpu {
  requestAdapter(options?: {
    powerPreference?: 'high-performance' | 'low-power';
    featureLevel?: 'core' | 'compatibility';
  }): Promise<GpuAdapter | null>;
}

/** The exports of dawn.node. */
export interface DawnModule {
  /** A WebGPU instance; flags as `backend=vulkan`, `enable-dawn-features=…`. */
  create(flags: string[]): Gpu;
  /** GPUBufferUsage, GPUMapMode, GPUTextureUsage… which TF.js reads as globals. */
  globals: Record<string, unknown>;
}

/** Dawn's folder name for this platform (one universal binary on macOS). */
export function dawnPlatform(platform: string = process.platform, arch: string = process.arch): string {
  return platform === 'darwin' ? 'darwin-universal' : `${platform}-${arch}`;
}

/** Where this platform's dawn.node is, if it is anywhere (bundle first, then node_modules). */
export function dawnBinaryPath(): string | undefined {
  const sub = dawnPlatform();
  const candidates: string[] = [];
  if (typeof __dirname === 'string') candidates.push(path.join(__dirname, 'dawn', sub, 'dawn.node'));
  try {
    const pkg = require.resolve('webgpu/package.json');
    candidates.push(path.join(path.dirname(pkg), 'dist', sub, 'dawn.node'));
  } catch {
    // Bundled: there is no node_modules to resolve from.
  }
  candidates.push(path.join(process.cwd(), 'node_modules', 'webgpu', 'dist', sub, 'dawn.node'));
  return candidates.find((p) => fs.existsSync(p));
}

let loaded: DawnModule | undefined;

/** Loads dawn.node once; throws an Error whose message says what is missing. */
export function loadDawn(): DawnModule {
  if (loaded) return loaded;
  const file = dawnBinaryPath();
  if (!file)
    throw new Error(
      `this Skipscope package has no WebGPU binary for ${dawnPlatform()} (install the platform-specific package)`,
    );
  // A native addon: require() is the only loader; esbuild leaves a computed path alone.
  const mod = require(file) as DawnModule;
  loaded = mod;
  return mod;
}
