import { describeMatrix } from './describe-matrix';
import { twoRegions } from './modes';

/**
 * Every server-side capability in a two-Region deployment (two local gateways on one DynamoDB
 * Local table), acting from either Region on clients of both (docs/runtime.md, "Modes and capabilities").
 */
describeMatrix(twoRegions);
