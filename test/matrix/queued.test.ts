import { describeMatrix } from './describe-matrix';
import { queued } from './modes';

/** Every server-side capability with every publish queued: enqueue() and the fan-out worker (docs/runtime.md, "Modes and capabilities"). */
describeMatrix(queued);
