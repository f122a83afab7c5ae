import { ApiError } from './api-errors.ts';
import { ebcdicBodyError, ebcdicCodePage } from './ebcdic.ts';
import type { HttpEvent } from './middleware.ts';

/**
 * Parses an `application/x-www-form-urlencoded` body (RFC 6749 3.2, 4.3.2, 4.4.2): media type, size
 * limit, UTF-8, and each parameter at most once (RFC 6749 3.2: parameters must not be repeated).
 * Parameters sent without a value (`scope=`) are treated as omitted (RFC 6749 3.1).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.2
 */
export function parseFormBody(event: HttpEvent, options: { maxBytes: number }): Map<string, string> {
  const contentType = event.headers?.['content-type'] ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType)) {
    throw new ApiError('unsupported_media_type', 'send the body as application/x-www-form-urlencoded');
  }
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.byteLength > options.maxBytes) {
    throw new ApiError('payload_too_large', `the body exceeds ${options.maxBytes} bytes`);
  }
  const text = bytes.toString('utf8');
  if (text.includes('\uFFFD')) {
    const codePage = ebcdicCodePage(bytes, 'form');
    if (codePage) throw ebcdicBodyError(codePage);
    throw new ApiError('invalid_request', 'the body is not UTF-8');
  }
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(text)) {
    // URLSearchParams turns percent-encoded bytes that are not UTF-8 (`%FF`) into U+FFFD: another
    // subject than the one sent, so refused like invalid bytes in the body itself.
    if (name.includes('\uFFFD') || value.includes('\uFFFD')) {
      throw new ApiError('invalid_request', 'a parameter is not UTF-8 once percent-decoded');
    }
    if (name.length > 64) throw new ApiError('invalid_request', 'a parameter name is too long');
    if (params.has(name))
      throw new ApiError('invalid_request', `parameter ${JSON.stringify(name)} is repeated`);
    params.set(name, value);
  }
  for (const [name, value] of params) if (value === '') params.delete(name);
  return params;
}
