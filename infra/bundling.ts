import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';

/** The Node.js version the bundles are built for (the Lambda runtime and the local toolchain). */
export const NODE_TARGET = 'node22';

/** ESM bundles have no `require`; CommonJS dependencies inside them still call it. */
export const ESM_REQUIRE_BANNER =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/** The AWS SDK v3 ships with the Lambda runtime, so it stays out of every bundle. */
export const EXTERNAL_MODULES = ['@aws-sdk/*'];

/** How every Lambda is bundled by the stack: ESM (top-level await works), minified, with source maps. */
export const lambdaBundling: BundlingOptions = {
  format: OutputFormat.ESM,
  target: NODE_TARGET,
  mainFields: ['module', 'main'],
  externalModules: EXTERNAL_MODULES,
  minify: true,
  sourceMap: true,
  sourceMapMode: SourceMapMode.DEFAULT,
  banner: ESM_REQUIRE_BANNER,
  forceDockerBundling: false,
};

/**
 * The same bundling as options for esbuild's own API (the benchmark builds the bundles to weigh
 * them): each entry `name → path` becomes `<outdir>/<name>/index.mjs`, as in the Lambda zip.
 */
export function esbuildOptions(entryPoints: Record<string, string>, outdir: string) {
  return {
    entryPoints: Object.entries(entryPoints).map(([name, path]) => ({ in: path, out: `${name}/index` })),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node' as const,
    format: 'esm' as const,
    target: NODE_TARGET,
    mainFields: ['module', 'main'],
    external: EXTERNAL_MODULES,
    minify: true,
    sourcemap: true,
    banner: { js: ESM_REQUIRE_BANNER },
    metafile: true,
    logLevel: 'silent' as const,
  };
}
