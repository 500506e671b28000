export declare const ASSETS: readonly string[];
