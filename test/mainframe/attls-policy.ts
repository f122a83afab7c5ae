// An AT-TLS policy read by the layout rules of the z/OS Communications Server IP Configuration Reference
// (Policy Agent, AT-TLS statements): each statement's syntax diagram is "Put Braces and Parameters on
// Separate Lines", so `{`, `}` and every parameter stand on lines of their own; a parameter belongs to
// the statement types that list it; a nested block is a statement of its own type (an inline
// TTLSKeyRingParms, TTLSEnvironmentAdvancedParms or TTLSConnectionAdvancedParms), or a reference to a
// named one. Hand-written: the reference is prose and syntax diagrams only. The parameter lists hold what
// the samples use plus their documented neighbours, not every parameter of every release.

const PARAMETERS: Readonly<Record<string, readonly string[]>> = {
  TTLSRule: [
    'Priority',
    'Jobname',
    'Userid',
    'Direction',
    'LocalAddr',
    'RemoteAddr',
    'LocalAddrRef',
    'RemoteAddrRef',
    'LocalAddrSetRef',
    'RemoteAddrSetRef',
    'LocalAddrGroupRef',
    'RemoteAddrGroupRef',
    'LocalPortRange',
    'RemotePortRange',
    'LocalPortRangeRef',
    'RemotePortRangeRef',
    'TTLSGroupActionRef',
    'TTLSEnvironmentActionRef',
    'TTLSConnectionActionRef',
  ],
  TTLSGroupAction: ['TTLSEnabled', 'Trace', 'CtraceClearText', 'FIPS140', 'SyslogFacility'],
  TTLSEnvironmentAction: [
    'HandshakeRole',
    'EnvironmentUserInstance',
    'Trace',
    'TTLSKeyRingParms',
    'TTLSKeyRingParmsRef',
    'TTLSCipherParms',
    'TTLSCipherParmsRef',
    'TTLSEnvironmentAdvancedParms',
    'TTLSEnvironmentAdvancedParmsRef',
  ],
  TTLSConnectionAction: [
    'HandshakeRole',
    'Trace',
    'CtraceClearText',
    'TTLSCipherParms',
    'TTLSCipherParmsRef',
    'TTLSConnectionAdvancedParms',
    'TTLSConnectionAdvancedParmsRef',
  ],
  TTLSKeyRingParms: ['Keyring', 'KeyringStashFile', 'KeyringPw', 'KeyringSAFPermissions'],
  TTLSEnvironmentAdvancedParms: [
    'SSLv2',
    'SSLv3',
    'TLSv1',
    'TLSv1.1',
    'TLSv1.2',
    'TLSv1.3',
    'ApplicationControlled',
    'HandshakeTimeout',
    'ClientAuthType',
    'ClientHandshakeSNI',
    'ClientHandshakeSNIMatch',
    'ClientHandshakeSNIList',
    'HostReferenceIdDNS',
    'ServerHandshakeSNI',
    'ServerHandshakeSNIMatch',
    'ServerHandshakeSNIList',
    'CertValidationMode',
    'MiddleBoxCompatMode',
  ],
  TTLSConnectionAdvancedParms: [
    'SSLv2',
    'SSLv3',
    'TLSv1',
    'TLSv1.1',
    'TLSv1.2',
    'TLSv1.3',
    'ApplicationControlled',
    'HandshakeTimeout',
    'ResetCipherTimer',
    'CertificateLabel',
    'SecondaryMap',
    'TruncatedHMAC',
    'ClientHandshakeSNI',
    'ClientHandshakeSNIList',
    'ServerHandshakeSNI',
  ],
};

/** Parameters that hold a nested statement of that type when followed by a brace. */
const NESTABLE = new Set([
  'TTLSKeyRingParms',
  'TTLSEnvironmentAdvancedParms',
  'TTLSConnectionAdvancedParms',
  'TTLSCipherParms',
]);

export type AtTlsStatement = {
  type: string;
  name?: string;
  parameters: Array<{ name: string; value: string; line: number }>;
  line: number;
};

/** Parses a policy; returns its top-level statements and every violation of the layout rules. */
export function parseAtTls(text: string): { statements: AtTlsStatement[]; problems: string[] } {
  const problems: string[] = [];
  const statements: AtTlsStatement[] = [];
  const stack: AtTlsStatement[] = [];
  let pending: AtTlsStatement | undefined;
  // A nested statement parameter: inline if a brace follows, else a reference by its name.
  let nestedReference = false;
  const inline = new Set<AtTlsStatement>();
  for (const [index, raw] of text.split('\n').entries()) {
    const line = index + 1;
    const content = raw.replace(/#.*$/, '').trim();
    if (content === '') continue;
    if (/[{}]/.test(content) && content !== '{' && content !== '}') {
      problems.push(`line ${line}: "${content}": braces and parameters go on separate lines`);
      continue;
    }
    if (content === '{') {
      if (!pending) problems.push(`line ${line}: a brace with no statement before it`);
      else {
        stack.push(pending);
        if (nestedReference) inline.add(pending);
      }
      pending = undefined;
      nestedReference = false;
      continue;
    }
    if (content === '}') {
      if (!stack.pop()) problems.push(`line ${line}: a closing brace with no open statement`);
      continue;
    }
    if (pending && !(nestedReference && pending.name)) {
      problems.push(`line ${pending.line}: ${pending.type} has no braces`);
    }
    if (pending && nestedReference && pending.name) statements.splice(statements.indexOf(pending), 1);
    pending = undefined;
    nestedReference = false;
    const [keyword, ...rest] = content.split(/\s+/);
    const value = rest.join(' ');
    const owner = stack.at(-1);
    if (!owner) {
      if (!PARAMETERS[keyword!]) {
        problems.push(`line ${line}: ${keyword} is not an AT-TLS statement`);
        continue;
      }
      pending = { type: keyword!, ...(value ? { name: value } : {}), parameters: [], line };
      statements.push(pending);
      continue;
    }
    if (!PARAMETERS[owner.type]!.includes(keyword!)) {
      problems.push(`line ${line}: ${keyword} is not a parameter of ${owner.type}`);
      continue;
    }
    owner.parameters.push({ name: keyword!, value, line });
    if (NESTABLE.has(keyword!) && !/Ref$/.test(keyword!)) {
      // Inline (a brace follows) or by name (a statement of that type defined elsewhere).
      pending = { type: keyword!, ...(value ? { name: value } : {}), parameters: [], line };
      nestedReference = true;
      statements.push(pending);
    }
  }
  if (pending && !(nestedReference && pending.name)) {
    problems.push(`line ${pending.line}: ${pending.type} has no braces`);
  }
  if (stack.length > 0) problems.push(`a ${stack.at(-1)!.type} block is not closed`);

  // Every reference names a statement of the referenced type.
  const defined = new Set(statements.filter((statement) => statement.name).map((s) => `${s.type} ${s.name}`));
  for (const statement of statements) {
    for (const parameter of statement.parameters) {
      if (NESTABLE.has(parameter.name) && [...inline].some((nested) => nested.line === parameter.line))
        continue;
      const referenced =
        /^(.*)Ref$/.exec(parameter.name)?.[1] ??
        (NESTABLE.has(parameter.name) && parameter.value ? parameter.name : undefined);
      if (!referenced) continue;
      const type = referenced
        .replace(/^(Local|Remote)Addr(Set|Group)?$/, 'IpAddr$2')
        .replace(/^(Local|Remote)PortRange$/, 'PortRange');
      if (!defined.has(`${type} ${parameter.value}`) && !defined.has(`${referenced} ${parameter.value}`)) {
        problems.push(`line ${parameter.line}: ${parameter.name} ${parameter.value}: no such statement`);
      }
    }
  }
  return { statements, problems };
}
