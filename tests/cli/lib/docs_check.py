#!/usr/bin/env python3
"""Holds what README.md and docs/*.md say about options against what --help prints.

    docs_check.py HELP_DIR FILE...

HELP_DIR holds main.txt, apply.txt, follow.txt and bids.txt (the four --help outputs) and
phantom.txt (realign-phantom's --help and its compare subcommand's). Prints one line per
problem, "FILE:LINE: problem", and exits 1 when there is any; 0 otherwise.

Checked in every file, outside the generated option reference of docs/usage.md:

- names: every long option written as --name must be an option of one of the four commands,
  or of another tool named in the same paragraph (EXTERNAL below; realign-phantom's come
  from its own --help);
- defaults, where one is stated in one of these forms (backticks optional unless shown;
  ARG is a placeholder such as MM or N):
    --name (default VALUE)     `--name ARG` (default: VALUE)     --name, default VALUE
    `--name VALUE` (the default)     `--name VALUE`, the default     --name defaults to VALUE
    `--name` ... default `VALUE` (in one clause, no other option between)
    a table whose header has a "default" column and whose row starts with `--name`
  VALUE must be the =VALUE that --help prints after the option's type (numbers compared as
  numbers: 1e-8 is 1e-08); for an option whose help prints no =VALUE, VALUE must be a word
  of its help text (--threads: "0, the default"); for a flag, "off";
- choices, written `--name a|b|c` (\| inside a table): for an option whose help lists its
  choices (TEXT:a, b, c) the lower-case words must be exactly those choices; otherwise each
  lower-case word must appear in the option's help text (--ref: mean, first, middle,
  median). Upper-case words (N, FILE, MM) are placeholders and are not checked.

The command whose help decides is the one the paragraph names (`realign follow`, `follow`,
and so on), else its heading's (a heading naming follow or real time: follow's; BIDS:
bids'), else its page's (docs/realtime.md: follow, docs/bids.md: bids), else the main
command; when that command lacks the option, the first that has it.
"""

import os
import re
import sys

# Options of other programs that the documentation shows, each allowed only in a paragraph
# that names the program (the pattern). Keep this short: realign's own options are read
# from --help, never listed here.
EXTERNAL = [
    (r"mpirun|Open MPI", {"--bind-to", "--map-by", "--oversubscribe", "--allow-run-as-root", "--mca"}),
    (r"sbatch|srun|Slurm", {"--ntasks", "--cpus-per-task", "--array", "--parsable", "--dependency"}),
    (r"cmake|ctest", {"--build", "--install", "--prefix", "--test-dir"}),
    (r"scripts/test\.sh", {"--sanitize"}),
    (r"simulate-scanner\.sh", {"--tr", "--partial", "--gz"}),
    (r"bench-follow\.sh", {"--at-tr-volumes", "--long-volumes"}),
    (r"fmriprep|fMRIPrep", {"--derivatives"}),
    (r"\bpip\b", {"--no-deps", "--target", "--no-build-isolation"}),
    (r"tedana", {"--mask"}),
]

COMMANDS = ["main", "apply", "follow", "bids"]
BEGIN = "<!-- BEGIN GENERATED: realign --help -->"
END = "<!-- END GENERATED -->"

OPTION_LINE = re.compile(
    r"^\s+(?:-[A-Za-z],)?(?P<names>--[a-z][a-z0-9_-]*(?:,--[a-z][a-z0-9_-]*)*)(?=[ {]|$)"
    r"(?P<flagdefault>\{[a-z]+\})?"
    r"(?: (?P<type>INT|UINT|FLOAT|TEXT)(?:=\[[^\]]*\] x \d+)?"
    r"(?::(?P<spec>[^=\s,]+(?:, [^=\s,]+)*))?(?:=(?P<default>\S+))?)?")
OPTION_WORD = re.compile(r"(?<![A-Za-z0-9_-])--([a-z][a-z0-9_-]*[a-z0-9])")


def parse_help(text):
    """name -> {'value': takes a value, 'default': str or None, 'choices': list or None,
    'text': the option's help text}."""
    options = {}
    current = None
    for line in text.splitlines():
        m = OPTION_LINE.match(line)
        if m and line.startswith("  -"):
            spec = m.group("spec")
            info = {
                "value": m.group("type") is not None,
                "default": m.group("default"),
                "choices": spec.split(", ") if spec and ", " in spec else None,
                "text": line[m.end():].strip(),
            }
            for name in m.group("names").split(","):
                options.setdefault(name, info)  # the first: a footer may name it again
            current = info
        elif current is not None and line.startswith("     ") and line.strip():
            current["text"] += " " + line.strip()
        else:
            current = None
    return options


def words_of(text):
    return set(re.findall(r"[A-Za-z0-9.+-]+", text.lower()))


def same_value(stated, printed):
    if stated == printed:
        return True
    try:
        return float(stated) == float(printed)
    except ValueError:
        return False


def paragraphs(lines):
    """(first line number, [lines], the heading above) of each blank-line separated block,
    skipping the generated block of docs/usage.md."""
    block, start, generated, heading = [], 0, False, ""
    for n, line in enumerate(lines, 1):
        if line.startswith("#") and not generated:
            if block:
                yield start, block, heading
            block, heading = [], line
            continue
        if line.strip() == BEGIN:
            generated = True
        if generated:
            if line.strip() == END:
                generated = False
            if block:
                yield start, block, heading
            block = []
            continue
        if line.strip():
            if not block:
                start = n
            block.append(line)
        elif block:
            yield start, block, heading
            block = []
    if block:
        yield start, block, heading


def command_for(path, heading, text):
    """The command a paragraph speaks of: the one it names, else its heading's, else its
    page's (docs/realtime.md: follow, docs/bids.md: bids), else the main command."""
    named = {"follow": r"realign follow|`follow`", "bids": r"realign bids|`bids`",
             "apply": r"realign apply|`apply`"}
    for source in (text, heading):
        for command, pattern in named.items():
            if re.search(pattern, source):
                return command
    if re.search(r"(?i)real time|follow", heading):
        return "follow"
    if re.search(r"BIDS", heading):
        return "bids"
    return {"realtime.md": "follow", "bids.md": "bids"}.get(os.path.basename(path), "main")


class Checker:
    def __init__(self, helps, phantom):
        self.helps = helps
        self.known = set().union(*(h.keys() for h in helps.values()))
        self.phantom = phantom
        self.problems = []
        self.counts = {"names": 0, "defaults": 0, "choices": 0}

    def problem(self, path, line, message):
        self.problems.append(f"{path}:{line}: {message}")

    def option(self, name, command):
        for c in [command] + COMMANDS:
            if name in self.helps[c]:
                return c, self.helps[c][name]
        return None, None

    def line_of(self, start, block, needle):
        for k, line in enumerate(block):
            if needle in line:
                return start + k
        return start

    def check_paragraph(self, path, start, block, heading):
        text = " ".join(line.strip() for line in block)
        allowed = set(self.known)
        for pattern, names in EXTERNAL:
            if re.search(pattern, text):
                allowed |= names
        if "realign-phantom" in text:
            allowed |= self.phantom
        for k, line in enumerate(block):
            for m in OPTION_WORD.finditer(line):
                name = "--" + m.group(1)
                self.counts["names"] += 1
                if name not in allowed:
                    self.problem(path, start + k, f"{name} is not an option of realign, realign apply, "
                                 "realign follow or realign bids (nor of a tool named in its paragraph)")
        command = command_for(path, heading, text)
        self.check_defaults(path, start, block, text, command)
        self.check_choices(path, start, block, text, command)
        self.check_table(path, start, block, command)

    DEFAULT_FORMS = [
        # --name (default VALUE), `--name ARG` (default: VALUE), --name, default VALUE
        re.compile(r"`?--(?P<name>[a-z][a-z0-9_-]*)(?:\s+[^\s`(),]+)?`?\s*[(,]\s*default:?\s+"
                   r"`?(?P<value>[^\s`),;]+)"),
        # `--name VALUE` (the default), `--name VALUE` (default), `--name VALUE`, the default
        re.compile(r"`--(?P<name>[a-z][a-z0-9_-]*)\s+(?P<value>[^\s`|]+)`"
                   r"\s*(?:\(\s*(?:the\s+)?default\s*\)|,\s*the\s+default\b)"),
        # --name defaults to VALUE
        re.compile(r"`?--(?P<name>[a-z][a-z0-9_-]*)`?\s+defaults\s+to\s+`?(?P<value>[^\s`),;]+?)`?[\s.,;)]"),
        # `--name` ... default `VALUE`, in one clause: no other option, no full stop between.
        re.compile(r"`--(?P<name>[a-z][a-z0-9_-]*)`(?:(?!--|\.\s)[^|]){0,80}?\bdefault\b:?\s+(?:is\s+)?"
                   r"`(?P<value>[^`\s]+)`"),
    ]

    def check_stated_default(self, path, line, name, value, command):
        c, info = self.option(name, command)
        if info is None:
            return  # an unknown name is reported once, above
        value = value.strip("`'\".,;:")
        self.counts["defaults"] += 1
        where = f"realign {c} --help" if c != "main" else "realign --help"
        if not info["value"]:
            if value.lower() != "off":
                self.problem(path, line, f"{name} is a flag (off unless given), not default '{value}'")
        elif info["default"] is not None:
            if not same_value(value, info["default"]):
                self.problem(path, line, f"{name}: the default is {info['default']} ({where}), "
                             f"not '{value}'")
        elif value.lower() not in words_of(info["text"]):
            self.problem(path, line, f"{name}: {where} prints no default and its help does not say "
                         f"'{value}'")

    def check_defaults(self, path, start, block, text, command):
        for form in self.DEFAULT_FORMS:
            for m in form.finditer(text):
                name = "--" + m.group("name")
                line = self.line_of(start, block, name)
                self.check_stated_default(path, line, name, m.group("value"), command)

    def check_choices(self, path, start, block, text, command):
        # `--name a|b|c`, the pipes escaped (\|) inside a table.
        for m in re.finditer(r"`--([a-z][a-z0-9_-]*)\s+([A-Za-z0-9]+(?:\s*\\?\|\s*[A-Za-z0-9]+)+)`", text):
            name = "--" + m.group(1)
            c, info = self.option(name, command)
            if info is None:
                continue
            self.counts["choices"] += 1
            words = [w for w in re.split(r"\s*\\?\|\s*", m.group(2)) if w and w == w.lower()]
            line = self.line_of(start, block, name)
            if info["choices"] is not None:
                if set(words) != set(info["choices"]):
                    self.problem(path, line, f"{name}: the choices are {'|'.join(info['choices'])}, "
                                 f"not {'|'.join(words)}")
            else:
                missing = [w for w in words if w not in words_of(info["text"])]
                if missing:
                    self.problem(path, line, f"{name}: its help does not name {', '.join(missing)}")

    def check_table(self, path, start, block, command):
        column = None
        for k, line in enumerate(block):
            if not line.lstrip().startswith("|"):
                column = None
                continue
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
            if column is None:
                lowered = [c.strip("`* ").lower() for c in cells]
                column = lowered.index("default") if "default" in lowered else -1
                continue
            if column < 0 or set(line.strip()) <= set("|-: ") or column >= len(cells):
                continue
            m = re.match(r"`--([a-z][a-z0-9_-]*)", cells[0])
            if m and cells[column]:
                value = cells[column].split()[0]
                self.check_stated_default(path, start + k, "--" + m.group(1), value, command)


def main():
    help_dir, files = sys.argv[1], sys.argv[2:]
    helps = {}
    for c in COMMANDS:
        with open(os.path.join(help_dir, c + ".txt"), encoding="utf-8") as f:
            helps[c] = parse_help(f.read())
        if len(helps[c]) < 5:
            print(f"docs_check: only {len(helps[c])} options read from {c}'s help: the parsing is wrong")
            return 2
    with open(os.path.join(help_dir, "phantom.txt"), encoding="utf-8") as f:
        phantom = set(parse_help(f.read()))
    checker = Checker(helps, phantom)
    for path in files:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        for start, block, heading in paragraphs(lines):
            checker.check_paragraph(path, start, block, heading)
    for p in dict.fromkeys(checker.problems):  # once each, in order
        print(p)
    if not checker.problems:
        c = checker.counts
        print(f"{c['names']} options named, {c['defaults']} defaults and {c['choices']} choice lists "
              f"stated, in {len(files)} files")
    return 1 if checker.problems else 0


if __name__ == "__main__":
    sys.exit(main())
