import { describeMatrix } from './describe-matrix';
import { singleRegion } from './modes';

/** Every server-side capability in a one-Region deployment (docs/runtime.md, "Modes and capabilities"). */
describeMatrix(singleRegion);
