import type { BundleFeatures } from '../src';

/**
 * The runtime features the example's functions carry (`bundleFeatures` of its stack): it declares
 * no presence route, no lifecycle hooks and no event history (its tracked route has no
 * `.history()`), and runs in one Region, so each function leaves them out (`$disconnect` then
 * carries no publisher). The bench's packed-bundle section bundles the example with the same.
 */
export const EXAMPLE_BUNDLE_FEATURES: BundleFeatures = { presence: false, hooks: false, history: false, multiRegion: false };
