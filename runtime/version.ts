/** The package version, injected at build time from package.json. */
import pkg from '../package.json';

/** Skipscope's version string. */
export const VERSION: string = pkg.version;
