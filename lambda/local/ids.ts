import { randomBytes } from 'node:crypto';

/**
 * An id shaped like API Gateway's connection and request ids: 16 base64 characters ending in
 * `=` (11 random bytes), e.g. `L0SM9cOFvHcCIhw=`. Like the real ones it may contain `+` and `/`,
 * so code that puts it in a URL path must encode it (the AWS SDK does).
 */
export function apiGatewayStyleId(): string {
  return randomBytes(11).toString('base64');
}

/** A 10-character lowercase alphanumeric id, shaped like an API Gateway `apiId`. */
export function apiIdLike(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(10), (byte) => alphabet[byte % alphabet.length]).join('');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `requestContext.requestTime` format of API Gateway (CLF): `09/Feb/2024:13:45:07 +0000`. */
export function formatRequestTime(epochMs: number): string {
  const date = new Date(epochMs);
  const pad = (value: number) => String(value).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}
