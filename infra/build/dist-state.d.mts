// Types of dist-state.mjs (plain JavaScript: it runs before anything is compiled).
export declare const SOURCE_DIRS: readonly string[];
export declare const SOURCE_FILES: readonly string[];
export declare const STAMP: string;
export declare function distState(root: string): 'fresh' | 'stale' | 'missing';
