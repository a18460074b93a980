/**
 * The shared case table for Go regular expressions. Every user of the one
 * translator (src/regex/go-regexp.ts) must give these results: the rule
 * matchers (HostRegexp, PathRegexp, HeaderRegexp, ...) and every middleware
 * option that takes a Go regexp (redirectRegex, replacePathRegex,
 * stripPrefixRegex, headers.accessControlAllowOriginListRegex). Each test
 * that runs them says how its user sees `input`.
 *
 * Expectations are Go's: `find` is regexp.FindString (null when nothing
 * matches) and `all` is ReplaceAllString(input, ALL_TEMPLATE). They were
 * produced by Go's regexp package, not by the translator under test.
 * Inputs hold no '%' and no ', ' so that a path or header carries them as is.
 */

export interface GoRegexpCase {
  readonly re: string;
  readonly input: string;
  /** Go's FindString: the leftmost-first match; null when there is none. */
  readonly find: string | null;
  /** Go's ReplaceAllString(input, ALL_TEMPLATE): every match, bracketed. */
  readonly all: string;
  /** Why the case is here, when that is not obvious. */
  readonly note?: string;
}

/** The replacement template behind `all`. */
export const ALL_TEMPLATE = '[$0]';

export const GO_REGEXP_CASES: readonly GoRegexpCase[] = [
  { re: '(?i:abc)d', input: 'xABCd', find: 'ABCd', all: 'x[ABCd]', note: 'issue: scoped flag group' },
  { re: '(?i:abc)d', input: 'ABCD', find: null, all: 'ABCD', note: 'issue: scoped flag group' },
  { re: '\\Qa.b\\E', input: 'a.b', find: 'a.b', all: '[a.b]', note: 'issue: quoted literal' },
  { re: '\\Qa.b\\E', input: 'axb', find: null, all: 'axb', note: 'issue: quoted literal' },
  { re: '[[:alpha:]]+', input: 'abc', find: 'abc', all: '[abc]', note: 'issue: POSIX class' },
  { re: '[[:alpha:]]+', input: '12ab3', find: 'ab', all: '12[ab]3', note: 'issue: POSIX class' },
  { re: '[[:alpha:]]+', input: '123', find: null, all: '123', note: 'issue: POSIX class' },
  { re: 'abc', input: 'xabcx', find: 'abc', all: 'x[abc]x' },
  { re: '^abc$', input: 'abc', find: 'abc', all: '[abc]' },
  { re: '^abc$', input: 'abc\n', find: null, all: 'abc\n' },
  { re: '(?i)abc', input: 'xAbC', find: 'AbC', all: 'x[AbC]' },
  { re: '(?i)^a[b-d]+$', input: 'ABCD', find: 'ABCD', all: '[ABCD]' },
  { re: 'a(?i:b)c', input: 'aBc', find: 'aBc', all: '[aBc]' },
  { re: 'a(?i:b)c', input: 'aBC', find: null, all: 'aBC' },
  { re: '(?i)a(?-i)b', input: 'Ab', find: 'Ab', all: '[Ab]' },
  { re: '(?i)a(?-i)b', input: 'AB', find: null, all: 'AB' },
  { re: '(?i)[^a]', input: 'A', find: null, all: 'A' },
  { re: '(?i)k', input: '\u212a', find: '\u212a', all: '[\u212a]' },
  { re: 'x(?i)y|z', input: 'Z', find: 'Z', all: '[Z]' },
  { re: '(?:(?i)a)b', input: 'AB', find: null, all: 'AB' },
  { re: '(?s)a.b', input: 'a\nb', find: 'a\nb', all: '[a\nb]' },
  { re: 'a.b', input: 'a\nb', find: null, all: 'a\nb' },
  { re: 'a.b', input: 'a\rb', find: 'a\rb', all: '[a\rb]' },
  { re: '(?m)^b$', input: 'a\nb\nc', find: 'b', all: 'a\n[b]\nc' },
  { re: '^b$', input: 'a\nb\nc', find: null, all: 'a\nb\nc' },
  { re: '(?m)^b$', input: 'a\rb', find: null, all: 'a\rb' },
  { re: '\\Aab\\z', input: 'ab', find: 'ab', all: '[ab]' },
  { re: '\\Aab\\z', input: 'ab\n', find: null, all: 'ab\n' },
  { re: '(?P<year>[0-9]{4})-(?P<m>[0-9]{2})', input: 'on 2024-05-17', find: '2024-05', all: 'on [2024-05]-17' },
  { re: '[[:alpha:]]+[[:digit:]]', input: 'ab1', find: 'ab1', all: '[ab1]' },
  { re: '^[[:^digit:]]+$', input: 'ab', find: 'ab', all: '[ab]' },
  { re: '^[[:^digit:]]+$', input: 'a1', find: null, all: 'a1' },
  { re: '^\\d+$', input: '123', find: '123', all: '[123]' },
  { re: '^\\d+$', input: '١٢٣', find: null, all: '١٢٣' },
  { re: '^\\s$', input: '\u00a0', find: null, all: '\u00a0' },
  { re: '^\\s$', input: '\t', find: '\t', all: '[\t]' },
  { re: '^\\s$', input: '\v', find: null, all: '\v' },
  { re: '^[\\s]$', input: '\f', find: '\f', all: '[\f]' },
  { re: '^\\S+$', input: 'a\u00a0b', find: 'a\u00a0b', all: '[a\u00a0b]' },
  { re: '^[^\\S]$', input: ' ', find: ' ', all: '[ ]' },
  { re: '^\\w+$', input: 'héllo', find: null, all: 'héllo' },
  { re: '^\\W$', input: 'é', find: 'é', all: '[é]' },
  { re: '^[\\W\\d]$', input: '5', find: '5', all: '[5]' },
  { re: '^\\pL+$', input: 'héllo', find: 'héllo', all: '[héllo]' },
  { re: '^\\p{Greek}+$', input: 'αβγ', find: 'αβγ', all: '[αβγ]' },
  { re: '^\\PL$', input: '1', find: '1', all: '[1]' },
  { re: '^\\p{^L}$', input: '1', find: '1', all: '[1]' },
  { re: '^[\\p{Lu}]$', input: 'A', find: 'A', all: '[A]' },
  { re: '^\\x41\\x{42}\\103$', input: 'ABC', find: 'ABC', all: '[ABC]' },
  { re: '^\\0$', input: '\0', find: '\0', all: '[\0]' },
  { re: '^\\Qa.b*\\E$', input: 'a.b*', find: 'a.b*', all: '[a.b*]' },
  { re: '^\\Qa.b\\E$', input: 'axb', find: null, all: 'axb' },
  { re: 'a\\Qb+', input: 'ab+', find: 'ab+', all: '[ab+]' },
  { re: '\\Qab\\E+', input: 'abbb', find: 'abbb', all: '[abbb]' },
  { re: '^a{2}$', input: 'aa', find: 'aa', all: '[aa]' },
  { re: '^a{2,}$', input: 'aaaa', find: 'aaaa', all: '[aaaa]' },
  { re: '^a{1,2}$', input: 'aaa', find: null, all: 'aaa' },
  { re: 'a{1,2}', input: 'aaa', find: 'aa', all: '[aa][a]' },
  { re: '^a{,2}$', input: 'a{,2}', find: 'a{,2}', all: '[a{,2}]' },
  { re: '^a{$', input: 'a{', find: 'a{', all: '[a{]' },
  { re: '^x{2}?$', input: 'xx', find: 'xx', all: '[xx]' },
  { re: '^[]a]+$', input: ']a', find: ']a', all: '[]a]' },
  { re: '^[^]a]$', input: 'b', find: 'b', all: '[b]' },
  { re: '^[a-]$', input: '-', find: '-', all: '[-]' },
  { re: '^[-a]$', input: '-', find: '-', all: '[-]' },
  { re: '^[a\\-z]$', input: '-', find: '-', all: '[-]' },
  { re: '^[a\\-z]$', input: 'b', find: null, all: 'b' },
  { re: '^\\.$', input: '.', find: '.', all: '[.]' },
  { re: '^\\/$', input: '/', find: '/', all: '[/]' },
  { re: '^a/b$', input: 'a/b', find: 'a/b', all: '[a/b]' },
  { re: '^\\#-\\!$', input: '#-!', find: '#-!', all: '[#-!]' },
  { re: '^😀+$', input: '😀😀', find: '😀😀', all: '[😀😀]' },
  { re: '^[😀-😂]$', input: '😁', find: '😁', all: '[😁]' },
  { re: '^.$', input: '😀', find: '😀', all: '[😀]' },
  { re: '^*a', input: 'a', find: 'a', all: '[a]' },
  { re: '\\bfoo\\b', input: 'a foo b', find: 'foo', all: 'a [foo] b' },
  { re: '\\Bfoo', input: 'afoo', find: 'foo', all: 'a[foo]' },
  { re: '(?U)a+', input: 'aaa', find: 'a', all: '[a][a][a]' },
  { re: '^(?U)a+?$', input: 'aaa', find: 'aaa', all: '[aaa]' },
  { re: 'a+?', input: 'aaa', find: 'a', all: '[a][a][a]' },
  { re: '(a|ab)(c|bcd)', input: 'abcd', find: 'abcd', all: '[abcd]' },
  { re: '^(a|b)*c$', input: 'ababc', find: 'ababc', all: '[ababc]' },
  { re: '\\$\\^', input: '$^', find: '$^', all: '[$^]' },
  { re: '[\\[\\]]', input: ']', find: ']', all: '[]]' },
  { re: '^\\a\\f\\t\\n\\r\\v$', input: '\u0007\f\t\n\r\v', find: '\u0007\f\t\n\r\v', all: '[\u0007\f\t\n\r\v]' },
  { re: 'a*', input: 'baaac', find: '', all: '[]b[aaa]c[]' },
  { re: '', input: 'ab', find: '', all: '[]a[]b[]' },
  { re: 'x*', input: 'ab', find: '', all: '[]a[]b[]' },
  { re: '^/api/(.*)$', input: '/api/v1/users', find: '/api/v1/users', all: '[/api/v1/users]' },
  { re: '^/api/(.*)$', input: '/apix', find: null, all: '/apix' },
  { re: '/foo/(?P<id>[0-9]+)', input: '/x/foo/42/bar', find: '/foo/42', all: '/x[/foo/42]/bar' },
  {
    re: '^https?://(www\\.)?example\\.com/(.*)',
    input: 'http://www.example.com/a',
    find: 'http://www.example.com/a',
    all: '[http://www.example.com/a]',
  },
  { re: '(?i)^/API', input: '/api/x', find: '/api', all: '[/api]/x' },
  { re: '\\A/x\\z', input: '/x', find: '/x', all: '[/x]' },
  { re: '^[a-z]+\\.example\\.com$', input: 'calc.example.com', find: 'calc.example.com', all: '[calc.example.com]' },
  { re: '^[a-z]+\\.example\\.com$', input: 'calc.example.com.evil', find: null, all: 'calc.example.com.evil' },
  { re: '\\.(?:js|css)$', input: '/a/b.css', find: '.css', all: '/a/b[.css]' },
  { re: '(?i)straße', input: 'STRAßE', find: 'STRAßE', all: '[STRAßE]' },
  { re: '(?<m>[0-9]{2})/(?<d>[0-9]{2})', input: 'on 05/17', find: '05/17', all: 'on [05/17]', note: 'Go 1.22 named group syntax' },
];

export interface GoRegexpErrorCase {
  readonly re: string;
  /** Offset in the pattern that the error points at. */
  readonly offset: number;
  /** The problem, as Go words it. */
  readonly error: RegExp;
  readonly note?: string;
}

/** Patterns Go refuses; every user must refuse them too, naming the problem. */
export const GO_REGEXP_ERRORS: readonly GoRegexpErrorCase[] = [
  { re: '(', offset: 1, error: /missing closing \)/ },
  { re: 'a)', offset: 1, error: /unexpected \)/ },
  { re: '[a', offset: 0, error: /missing closing \]/ },
  { re: '[z-a]', offset: 2, error: /invalid character class range/ },
  { re: '*a', offset: 0, error: /missing argument to repetition operator/ },
  { re: 'a**', offset: 2, error: /invalid nested repetition operator/ },
  { re: 'a++', offset: 2, error: /invalid nested repetition operator/, note: 'a possessive quantifier in other dialects' },
  { re: 'x{2}{3}', offset: 4, error: /invalid nested repetition operator/ },
  { re: 'a{1001}', offset: 1, error: /invalid repeat count/ },
  { re: 'a{3,2}', offset: 1, error: /invalid repeat count/ },
  { re: '\\1', offset: 0, error: /invalid escape sequence.*backreferences/, note: 'valid in JavaScript' },
  { re: '(?=a)', offset: 0, error: /invalid or unsupported Perl syntax/, note: 'valid in JavaScript' },
  { re: '(?!a)', offset: 0, error: /invalid or unsupported Perl syntax/, note: 'valid in JavaScript' },
  { re: '(?<!a)', offset: 0, error: /invalid named capture/, note: 'valid in JavaScript' },
  { re: '(?<=a)', offset: 0, error: /invalid named capture/, note: 'valid in JavaScript' },
  { re: '(?P=n)', offset: 0, error: /invalid or unsupported Perl syntax/ },
  { re: '(?P<>a)', offset: 0, error: /invalid named capture/ },
  { re: '(?P<a-b>x)', offset: 0, error: /invalid named capture/ },
  { re: '(?z)', offset: 0, error: /invalid or unsupported Perl syntax/ },
  { re: '\\Z', offset: 0, error: /invalid escape sequence/ },
  { re: '\\C', offset: 0, error: /invalid escape sequence/ },
  { re: '\\', offset: 0, error: /trailing backslash/ },
  { re: '\\p{Nope}', offset: 0, error: /invalid character class range.*unknown Unicode class/ },
  { re: '\\x{110000}', offset: 0, error: /invalid escape sequence.*out of range/ },
  { re: '[[:nope:]]', offset: 1, error: /invalid character class range/ },
  { re: '[\\b]', offset: 1, error: /invalid escape sequence/ },
];
