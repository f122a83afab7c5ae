// The few names of IBM's Host API copybooks that docs/MAINFRAME.md's JBGHAPI uses, declared with the
// pictures of IBM's sample zosconnect/sample-oas3-requester (COPY/BAQHAREC.cpy, COPY/BAQHCONC.cpy), so
// GnuCOBOL can check the program's references. A stand-in for the compile only, not IBM's copybooks:
// a program on z/OS copies IBM's own.
const line = (text: string) => `       ${text}`;

export const IBM_COPYBOOKS: Record<string, string> = {
  BAQHAREC: [
    line('01 BAQ-REQUEST-AREA.'),
    line('  03 BAQ-REQ-PARMS OCCURS 64.'),
    line('   05 BAQ-REQ-PARM-NAME       PIC X(48).'),
    line('   05 BAQ-REQ-PARM-ADDRESS    USAGE POINTER.'),
    line('   05 BAQ-REQ-PARM-LENGTH     PIC 9(9) BINARY.'),
    '',
  ].join('\n'),
  BAQHCONC: [
    line("77 BAQ-EXEC-NAME           PIC X(8) VALUE 'BAQEXEC'."),
    line('77 BAQR-OAUTH-USERNAME     PIC X(22)'),
    line("    VALUE 'BAQHAPI-oAuth-Username'."),
    line('77 BAQR-OAUTH-PASSWORD     PIC X(22)'),
    line("    VALUE 'BAQHAPI-oAuth-Password'."),
    line('77 BAQR-OAUTH-CUSTOM-PARMS PIC X(25)'),
    line("    VALUE 'BAQHAPI-oAuth-CustomParms'."),
    '',
  ].join('\n'),
};
