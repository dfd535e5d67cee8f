// Flat ESLint config: typescript-eslint recommended rules on every TypeScript source.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'out/**',
      'node_modules/**',
      '.e2e-cache/**',
      'test-output/**',
      'test/fixtures/**',
      '.vscode-test/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        performance: 'readonly',
        __dirname: 'readonly',
        require: 'readonly',
        module: 'writable',
        self: 'readonly',
        window: 'readonly',
        document: 'readonly',
        navigator: 'readonly',
        requestAnimationFrame: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
        globalThis: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  // The layers of ARCHITECTURE in DESIGN.md, read from the imports: model ← analysis ← view/text/probe
  // ← sidecar/cli. runtime/ never depends on VS Code; the webview sees the view layer only;
  // extension/ holds no model logic (it may name probe option/result types, nothing that runs).
  layerRule(['runtime/**/*.ts'], []),
  layerRule(['runtime/model/**/*.ts'], ['analysis', 'probe', 'view', 'text', 'sidecar', 'cli']),
  layerRule(['runtime/analysis/**/*.ts'], ['probe', 'view', 'text', 'sidecar', 'cli']),
  layerRule(['runtime/view/**/*.ts', 'runtime/text/**/*.ts', 'runtime/probe/**/*.ts'], ['sidecar', 'cli']),
  layerRule(['webview/**/*.ts'], ['model', 'analysis', 'probe', 'text', 'sidecar', 'cli']),
  layerRule(['extension/**/*.ts'], ['model', 'analysis', 'sidecar', 'cli'], ['probe']),
);

/**
 * Forbids `files` to import `vscode` (runtime only) and the runtime/ folders in `banned`; `typesOnly`
 * folders may be imported for their types alone.
 */
function layerRule(files, banned, typesOnly = []) {
  const folder = (f) => [`**/runtime/${f}/**`, `../${f}/**`, `../../${f}/**`, `./${f}/**`];
  const patterns = [
    ...banned.map((f) => ({ group: folder(f), message: `this layer must not import runtime/${f}.` })),
    ...typesOnly.map((f) => ({
      group: folder(f),
      allowTypeImports: true,
      message: `only types may be imported from runtime/${f}.`,
    })),
  ];
  const paths = files[0].startsWith('runtime')
    ? [{ name: 'vscode', message: 'runtime/ never imports vscode.' }]
    : [];
  return {
    files,
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { paths, patterns }] },
  };
}
