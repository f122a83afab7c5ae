// oidc-provider, loaded once for every part of the demo authorization server.

/**
 * oidc-provider prints an "Unsupported runtime" warning at import time on Node 20, which this project
 * supports (engines >= 20.19). The notice is noise in test output, so it is muted while the module loads
 * unless DEBUG is set. Only lines oidc-provider prefixes with its own name are dropped.
 */
async function importOidcProviderQuietly(): Promise<typeof import('oidc-provider')> {
  if (process.env.DEBUG) return import('oidc-provider');
  const { warn, info } = console;
  const drop =
    (original: (...args: unknown[]) => void) =>
    (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('oidc-provider ')) return;
      original(...args);
    };
  console.warn = drop(warn);
  console.info = drop(info);
  try {
    return await import('oidc-provider');
  } finally {
    console.warn = warn;
    console.info = info;
  }
}

export const { Provider, errors } = await importOidcProviderQuietly();
