// Imported before ink (and so before chalk decides its colour level): under the
// test runner stdout is a pipe, and without this chalk would print no colour at
// all, so a NO_COLOR test could never fail. Frames therefore carry ANSI codes;
// the harness strips them for text assertions.
process.env.FORCE_COLOR = '3';
delete process.env.NO_COLOR;
if (process.env.TERM === 'dumb') process.env.TERM = 'xterm-256color';
export {};
