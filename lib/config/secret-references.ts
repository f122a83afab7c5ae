import type { GatewayConfig, SecretReference } from './schema.ts';

/** Every secret reference in the configuration, with its field. */
export function secretReferences(config: GatewayConfig): Array<{ path: string; reference: SecretReference }> {
  const found: Array<{ path: string; reference: SecretReference }> = [];
  const add = (reference: SecretReference | undefined, path: string): void => {
    if (reference) found.push({ path, reference });
  };
  for (const [id, key] of Object.entries(config.signingKeys))
    add(key.certificate, `signingKeys.${id}.certificate`);
  for (const [id, target] of Object.entries(config.targets)) {
    const auth = target.clientAuthentication;
    if ('secret' in auth) add(auth.secret, `targets.${id}.clientAuthentication.secret`);
    add(target.password?.username, `targets.${id}.password.username`);
    add(target.password?.password, `targets.${id}.password.password`);
  }
  for (const [id, caller] of Object.entries(config.callers)) {
    caller.apiKeys.forEach((key, index) => {
      if (!('sha256' in key)) add(key, `callers.${id}.apiKeys[${index}]`);
    });
    caller.oauth.clients.forEach((client, index) => {
      if (!('sha256' in client.secret)) add(client.secret, `callers.${id}.oauth.clients[${index}].secret`);
    });
    const password = caller.oauth.password;
    if (typeof password === 'object') add(password.required, `callers.${id}.oauth.password.required`);
    add(caller.oauth.identityTokens?.certificate, `callers.${id}.oauth.identityTokens.certificate`);
  }
  return found;
}
