// docs/MAINFRAME.md's samples are what a CICS, batch or z/OS Connect team copies on its first try: each
// is checked here the way z/OS would check it. COBOL compiles with GnuCOBOL (cobc, Debian gnucobol,
// installed by .ci/run), EXEC CICS commands match the command reference's options, the AT-TLS policy
// follows the reference's layout rules, and the HWTH names are those of IBM's toolkit samples.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAtTls } from './attls-policy.ts';
import {
  type CobolUnit,
  cicsProblems,
  cobolUnits,
  compileUnits,
  fencedBlocks,
  layoutProblems,
  missingCompiler,
} from './cobol-samples.ts';
import { IBM_COPYBOOKS } from './ibm-copybooks.ts';
import { readServerXml } from './server-xml.ts';

const PAGE = 'docs/MAINFRAME.md';

/**
 * Every HWTH option and value name used in IBM/zOS-Client-Web-Enablement-Toolkit's samples (commit
 * 5117ca15e45eb77e39f0b80a421b0d6c7e3c79e3: Example-Cobol-AirportService/cobol/airport.cbl,
 * Example-Slack/rexx/slack.rexx, Example-zOSMF/jcl/RXZOSMF.jcl, Example-GeoServices, Example-Download),
 * in COBOL's hyphenated spelling (C and REXX use underscores).
 */
const HWTH_NAMES_IN_IBM_SAMPLES = new Set(
  (
    'HWTH-COOKIETYPE HWTH-COOKIETYPE-SESSION HWTH-HTTP-REQUEST-GET HWTH-HTTP-REQUEST-POST ' +
    'HWTH-HTTP-REQUEST-PUT HWTH-HTTPAUTH-BASIC HWTH-HTTPAUTH-NONE HWTH-OPT-COOKIETYPE HWTH-OPT-HTTPAUTH ' +
    'HWTH-OPT-HTTPHEADERS HWTH-OPT-PASSWORD HWTH-OPT-PORT HWTH-OPT-RCVTIMEOUTVAL HWTH-OPT-REQUESTBODY ' +
    'HWTH-OPT-REQUESTMETHOD HWTH-OPT-RESPONSEBODY-EXIT HWTH-OPT-RESPONSEBODY-USERDATA ' +
    'HWTH-OPT-RESPONSEHDR-EXIT HWTH-OPT-RESPONSEHDR-USERDATA HWTH-OPT-SNDTIMEOUTVAL ' +
    'HWTH-OPT-SSLCIPHERSPECS HWTH-OPT-SSLKEY HWTH-OPT-SSLKEYSTASHFILE HWTH-OPT-SSLKEYTYPE ' +
    'HWTH-OPT-SSLTRACE HWTH-OPT-SSLVERSION HWTH-OPT-STREAM-RECEIVE-EXIT HWTH-OPT-TRANSLATE-REQBODY ' +
    'HWTH-OPT-TRANSLATE-RESPBODY HWTH-OPT-URI HWTH-OPT-USE-SSL HWTH-OPT-USERNAME HWTH-OPT-VERBOSE ' +
    'HWTH-OPT-VERBOSE-OUTPUT HWTH-SSL-USE HWTH-SSLKEYTYPE-KEYDBFILE HWTH-SSLKEYTYPE-KEYRINGNAME ' +
    'HWTH-SSLVERSION-TLS HWTH-SSLVERSION-TLSV13 HWTH-VERBOSE HWTH-VERBOSE-OFF HWTH-VERBOSE-ON ' +
    'HWTH-XLATE-REQBODY-E2A HWTH-XLATE-RESPBODY HWTH-XLATE-RESPBODY-A2E'
  ).split(' '),
);

/** All findings for a page's COBOL: layout, EXEC CICS against the table, and the compile. */
async function cobolFindings(markdown: string): Promise<string[]> {
  // Never skipped: without the compiler each compiling test fails with the one line that says what to
  // install.
  const missing = await missingCompiler();
  if (missing) throw new Error(missing);
  const units = cobolUnits(markdown);
  const copybooks = units.filter((unit) => unit.kind === 'copybook');
  const programs = units.filter((unit) => unit.kind === 'program');
  return [
    ...units.flatMap((unit) => layoutProblems(unit)),
    ...programs.flatMap((unit) => cicsProblems(unit, copybooks).map((problem) => `${unit.name} ${problem}`)),
    ...(await compileUnits(units, IBM_COPYBOOKS)),
  ];
}

describe('docs/MAINFRAME.md samples', () => {
  let page: string;
  let units: CobolUnit[];

  beforeAll(async () => {
    page = await readFile(PAGE, 'utf8');
    units = cobolUnits(page);
  });

  describe('COBOL', () => {
    it('holds the programs and copybooks the page describes, and no uncompilable fragment', () => {
      // Assess
      expect(units.map((unit) => `${unit.kind} ${unit.name}`)).toEqual([
        'program JBGHAPI',
        'copybook JBGTOKC',
        'program JBGCALL',
        'copybook JBGCALC',
        'program JBGONE',
      ]);
    });

    it('compiles with GnuCOBOL (-std=ibm, fixed format) and every EXEC CICS matches the command reference', async () => {
      // Act
      const findings = await cobolFindings(page);

      // Assess
      expect(findings).toEqual([]);
    });

    it('sends request bodies as UTF-8 (CHARACTERSET) and parses answers it did not convert', () => {
      // Prepare
      const withBody = units
        .filter((unit) => unit.kind === 'program')
        .flatMap((unit) =>
          [...unit.text.matchAll(/EXEC CICS WEB CONVERSE([\s\S]*?)END-EXEC/g)].map((m) => m[1]!),
        );

      // Act
      const bodies = withBody.filter((options) => /\bFROM\(/.test(options));
      const parsedUnconverted = withBody.every((options) => /\b(NOINCONVERT|NOCLICONVERT)\b/.test(options));

      // Assess
      expect(bodies.length).toBeGreaterThan(1);
      expect(bodies.every((options) => /CHARACTERSET\('UTF-8'\)/.test(options))).toBe(true);
      expect(parsedUnconverted).toBe(true);
    });
    it('JSON PARSE names only members the gateway answers with (docs/openapi.json schemas)', async () => {
      // Prepare
      const { components } = JSON.parse(await readFile('docs/openapi.json', 'utf8')) as {
        components: { schemas: Record<string, { properties: Record<string, unknown> }> };
      };
      const schemaOf: Record<string, string> = {
        'JBG-TOKEN-RESPONSE': 'TokenResponse',
        'JBG-ERROR-RESPONSE': 'Error',
      };

      // Act
      const named = units.flatMap((unit) =>
        [...unit.text.matchAll(/JSON PARSE [\s\S]*?INTO ([A-Z0-9-]+)([\s\S]*?)END-JSON/g)].flatMap(
          ([, into, rest]) =>
            [...rest!.matchAll(/IS '([^']+)'/g)].map((match) => ({ unit, into: into!, name: match[1]! })),
        ),
      );
      const unknown = named
        .filter(({ into, name }) => !(name in (components.schemas[schemaOf[into] ?? '']?.properties ?? {})))
        .map(({ unit, into, name }) => `${unit.name}: ${into} ${name}`);

      // Assess: JBGCALL's token and error answers, JBGONE's error answer.
      expect(named).toHaveLength(11);
      expect(unknown).toEqual([]);
    });
  });

  describe('the checker itself', () => {
    /** JBGCALL with one defect put in on purpose. */
    const broken = (edit: (program: string) => string) => {
      const program = units.find((unit) => unit.name === 'JBGCALL')!;
      const copybook = units.find((unit) => unit.name === 'JBGTOKC')!;
      const fence = (text: string) => `\`\`\`cobol\n${text}\`\`\`\n`;
      return `${fence(copybook.text)}\n${fence(edit(program.text))}`;
    };

    it.each([
      [
        'a CVDA keyword in parentheses',
        (p: string) => p.replace('NOCLICONVERT', 'CLOSESTATUS(CLOSE)'),
        'CVDA keyword',
      ],
      [
        'a literal where a data area is required',
        (p: string) => p.replace('MEDIATYPE(WS-MEDIATYPE)', "MEDIATYPE('text/x')"),
        'literal where',
      ],
      [
        'an unknown option',
        (p: string) => p.replace('NOCLICONVERT', 'NOCONVERT'),
        'unknown option NOCONVERT',
      ],
      [
        'a missing RESP',
        (p: string) => p.replace(/(WEB CLOSE SESSTOKEN\(WS-SESSTOKEN\)) RESP\(WS-RESP\)/, '$1'),
        'no RESP',
      ],
      [
        'a RESP nobody tests',
        (p: string) =>
          p.replace(
            "           IF WS-RESP NOT = DFHRESP(NORMAL)\n              MOVE 'JBGH'",
            "           IF WS-STATUS NOT = 0\n              MOVE 'JBGH'",
          ),
        'nothing tests it',
      ],
      [
        'a MEDIATYPE shorter than 56',
        (p: string) => p.replace('PIC X(56) VALUE', 'PIC X(16) VALUE'),
        'PIC X(56)',
      ],
      [
        'an undefined data name',
        (p: string) => p.replace('VALUELENGTH(WS-AUTH-LEN)', 'VALUELENGTH(WS-AUTH-LENGTH)'),
        "'WS-AUTH-LENGTH' is not defined",
      ],
      [
        'a line past column 72',
        (p: string) =>
          p.replace('MOVE SPACES TO WS-AUTH-HEADER', `MOVE SPACES TO WS-AUTH-HEADER${' '.repeat(40)}X`),
        'fixed format ends at column 72',
      ],
      [
        'a COBOL syntax error',
        (p: string) => p.replace('SUBTRACT 1 FROM WS-BODY-LEN', 'SUBTRACT 1 FROM'),
        'error',
      ],
    ])('fails on %s', async (_name, edit, expected) => {
      // Act
      const findings = await cobolFindings(broken(edit));

      // Assess
      expect(findings.join('\n')).toContain(expected);
    });

    it('refuses a COBOL block that is neither a program nor a named copybook', () => {
      // Assess
      expect(() => cobolUnits('```cobol\n           MOVE 1 TO WS-X\n```\n')).toThrow(/neither a program/);
    });
  });

  describe('z/OS Connect server.xml', () => {
    const servers = () => fencedBlocks(page, 'xml').filter((block) => block.text.includes('<server'));

    it('has a complete server.xml per API requester generation, each with its feature', () => {
      // Act
      const features = servers().map((block) => readServerXml(block.text).features);

      // Assess: zosConnect-3.0 (IBM sample-oas3-requester) and zosConnect-2.0.
      expect(features).toEqual([['zosconnect:oasRequester-1.0'], ['zosconnect:apiRequester-1.0']]);
    });

    it('resolves every reference to an element of the right type (a fragment: also in the complete server.xml)', () => {
      // Act
      const complete = new Map(servers().flatMap((block) => [...readServerXml(block.text).elements]));
      const problems = fencedBlocks(page, 'xml').flatMap((block) =>
        readServerXml(block.text, block.text.includes('<server') ? new Map() : complete).problems.map(
          (problem) => `line ${block.firstLine}: ${problem}`,
        ),
      );

      // Assess
      expect(problems).toEqual([]);
    });

    it('wires the zosConnect-3.0 API requester WAR to its connection (webApplication connectionRef)', () => {
      // Act
      const v3 = servers()[0]!.text;

      // Assess
      expect(v3).toMatch(/<webApplication location="[^"]+\.war">[\s\S]*?name="connectionRef"/);
    });

    it('never pairs a Basic header (basicAuthRef) with credentials in the body (credentialLocation="body")', () => {
      // Act
      const mixed = fencedBlocks(page, 'xml').filter(
        (block) => block.text.includes('credentialLocation="body"') && block.text.includes('basicAuthRef'),
      );

      // Assess
      expect(mixed).toEqual([]);
    });

    it('refuses a reference to nothing and an element left open', () => {
      // Act
      const { problems } = readServerXml(
        '<server><zosconnect_endpointConnection id="a" authenticationConfigRef="missing"/><ssl id="s">',
      );

      // Assess
      expect(problems).toEqual([
        '<server>, <ssl> not closed',
        'authenticationConfigRef="missing" names no zosconnect_oAuthConfig or zosconnect_authToken or zosconnect_authTokenLocal',
      ]);
    });
  });

  describe('AT-TLS', () => {
    const policy = () => fencedBlocks(page, 'attls');

    it('follows the reference layout: statements own their parameters, braces and parameters on separate lines', () => {
      // Act
      const blocks = policy();
      const parsed = blocks.map((block) => parseAtTls(block.text));

      // Assess
      expect(blocks).toHaveLength(1);
      expect(parsed[0]!.problems).toEqual([]);
    });

    it('matches the gateway by job name and port (API Gateway addresses change), with SNI and a client certificate', () => {
      // Act
      const { statements } = parseAtTls(policy()[0]!.text);
      const rule = statements.find((statement) => statement.type === 'TTLSRule')!;
      const names = (type: string) =>
        statements
          .filter((statement) => statement.type === type)
          .flatMap((s) => s.parameters.map((p) => p.name));

      // Assess
      expect(rule.parameters.map((parameter) => parameter.name)).toEqual(
        expect.arrayContaining(['Jobname', 'RemotePortRange', 'Direction', 'TTLSConnectionActionRef']),
      );
      expect(rule.parameters.some((parameter) => /Addr/.test(parameter.name))).toBe(false);
      expect(names('TTLSEnvironmentAdvancedParms')).toEqual(
        expect.arrayContaining(['ClientHandshakeSNI', 'ClientHandshakeSNIList']),
      );
      expect(names('TTLSConnectionAdvancedParms')).toContain('CertificateLabel');
    });

    it('refuses the layouts the reference does not allow', () => {
      // Act
      const oneLine = parseAtTls('TTLSGroupAction G { TTLSEnabled On }\n');
      const misplaced = parseAtTls(
        'TTLSEnvironmentAction E\n{\n  HandshakeRole Client\n  TTLSConnectionAdvancedParms\n  {\n    CertificateLabel X\n  }\n}\n',
      );
      const undefinedGroup = parseAtTls(
        'TTLSRule R\n{\n  Direction Outbound\n  RemoteAddrGroupRef Nowhere\n}\n',
      );

      // Assess
      expect(oneLine.problems.join()).toContain('separate lines');
      expect(misplaced.problems.join()).toContain(
        'TTLSConnectionAdvancedParms is not a parameter of TTLSEnvironmentAction',
      );
      expect(undefinedGroup.problems.join()).toContain('Nowhere: no such statement');
    });
  });

  describe('HWTH (batch)', () => {
    /** Every HWTH option or value name the page mentions, in COBOL's spelling. */
    const mentioned = () => [
      ...new Set(
        [...page.matchAll(/`(HWTH[-_][A-Z0-9_-]+)`/g)].map((match) => match[1]!.replaceAll('_', '-')),
      ),
    ];

    it('names only options and values IBM toolkit samples use', () => {
      // Act
      const unknown = mentioned().filter((name) => !HWTH_NAMES_IN_IBM_SAMPLES.has(name));

      // Assess
      expect(mentioned().length).toBeGreaterThan(10);
      expect(unknown).toEqual([]);
    });

    it('translates both bodies, as IBM samples always do, and receives the body through the response body exit', () => {
      // Act
      const names = mentioned();

      // Assess
      expect(names).toEqual(
        expect.arrayContaining([
          'HWTH-OPT-TRANSLATE-REQBODY',
          'HWTH-XLATE-REQBODY-E2A',
          'HWTH-OPT-TRANSLATE-RESPBODY',
          'HWTH-XLATE-RESPBODY-A2E',
          'HWTH-OPT-RESPONSEBODY-EXIT',
        ]),
      );
    });

    it('spells the outline in COBOL (hyphens), apart from the one note on C and REXX spelling (Sources aside)', () => {
      // Act
      const guide = page.slice(0, page.indexOf('\n## Sources'));
      const underscored = [...guide.matchAll(/`(HWTH_[A-Z0-9_]+)`/g)].map((match) => match[1]);

      // Assess
      expect(underscored).toEqual(['HWTH_OPT_URI']);
    });
  });
});
