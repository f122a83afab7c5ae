// The z/OS Connect server.xml samples read as Liberty would resolve them: elements by id, and every
// reference attribute naming an element of the type it must name. Hand-written: a handful of regular
// expressions over samples we write ourselves; no XML library is a dependency, and well-formedness is
// checked by a tag stack.

/** The element type each reference must name (IBM z/OS Connect and Liberty configuration elements). */
const REFERENCE_TARGETS: Readonly<Record<string, readonly string[]>> = {
  authenticationConfigRef: ['zosconnect_oAuthConfig', 'zosconnect_authToken', 'zosconnect_authTokenLocal'],
  authServerRef: ['zosconnect_authorizationServer'],
  basicAuthRef: ['zosconnect_authData'],
  sslCertsRef: ['ssl'],
  keyStoreRef: ['keyStore'],
  trustStoreRef: ['keyStore'],
  connectionRef: ['zosconnect_endpointConnection'],
};

export type ServerXml = { elements: Map<string, string>; features: string[]; problems: string[] };

/**
 * `context`: elements defined elsewhere that a fragment may name (the page's complete server.xml, which
 * a fragment extends).
 */
export function readServerXml(text: string, context: ReadonlyMap<string, string> = new Map()): ServerXml {
  const problems: string[] = [];
  const xml = text.replace(/<!--[\s\S]*?-->/g, '');
  // Well-formed enough: every opened element is closed in order.
  const stack: string[] = [];
  for (const tag of xml.matchAll(/<(\/?)([A-Za-z_][\w.-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = tag;
    if (selfClosing) continue;
    if (!closing) stack.push(name!);
    else if (stack.pop() !== name) problems.push(`</${name}> closes nothing open`);
  }
  if (stack.length > 0) problems.push(`<${stack.join('>, <')}> not closed`);
  const elements = new Map<string, string>(context);
  for (const [, type, attributes] of xml.matchAll(/<([A-Za-z_][\w.-]*)\s([^>]*)>/g)) {
    const id = /\bid="([^"]+)"/.exec(attributes!)?.[1];
    if (id) elements.set(id, type!);
  }
  const references = [
    ...[...xml.matchAll(/\b(\w+Ref)="([^"]+)"/g)].map(([, name, value]) => [name!, value!] as const),
    ...[...xml.matchAll(/<property name="(connectionRef)" value="([^"]+)"/g)].map(
      ([, name, value]) => [name!, value!] as const,
    ),
  ];
  for (const [name, value] of references) {
    const allowed = REFERENCE_TARGETS[name];
    const type = elements.get(value);
    if (!allowed) problems.push(`${name}: not a reference this check knows`);
    else if (!type || !allowed.includes(type))
      problems.push(`${name}="${value}" names no ${allowed.join(' or ')}`);
  }
  const features = [...xml.matchAll(/<feature>([^<]+)<\/feature>/g)].map((match) => match[1]!);
  return { elements, features, problems };
}
