#!/usr/bin/perl
# ssh-wid-helper issue: every certificate we make parses with
# `ssh-keygen -L`, with exactly the fields we asked for; hostile requests
# are refused with reason codes and nothing is written; CA key rules.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use WidSshd qw(run slurp spew helper_bin make_ca make_user_key issue);

plan skip_all => 'ssh-wid-helper not built' unless -x helper_bin();
plan skip_all => 'ssh-keygen missing' unless -x '/usr/bin/ssh-keygen';

my $d = tempdir('wid-sshcert-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $H = helper_bin();
my ($ca_key, $ca_pub) = make_ca($d, 'ca');
my $key = make_user_key($d, 'id_user');
my ($rc, $out, $err);

# The CA line we print is the CA that ssh-keygen sees as signer.
($rc, $out) = run('/usr/bin/ssh-keygen', '-l', '-f', $ca_pub);
my ($ca_fp) = $out =~ /(SHA256:\S+)/;
ok($ca_fp, 'ssh-keygen reads our CA public key line');

# pubkey --comment ends up in sshd's TrustedUserCAKeys: it stays one
# comment on one line (a newline would add a forged CA line).
for my $c (["a\nssh-ed25519 AAAAforged", 'newline'], ["a\rb", 'CR'],
           ["a\tb", 'tab'], ["a\x7fb", 'DEL'], ["caf\xc3\xa9", 'non-ASCII'],
           ['x' x 1025, '1025 bytes']) {
    ($rc, $out, $err) = run($H, 'pubkey', '--pub', $ca_pub, '--comment',
                            $c->[0]);
    is($rc, 2, "pubkey --comment with $c->[1]: exit 2");
    is($out, '', '... prints nothing');
    like($err, qr/internal\.config_error.*--comment must be printable ASCII/,
         '... says why');
}
($rc, $out) = run($H, 'pubkey', '--pub', $ca_pub, '--comment',
                  'wid CA 2025 (prod) ' . ('x' x 1005));
is($rc, 0, 'pubkey --comment: printable ASCII with spaces, 1024 bytes');
like($out, qr/^ssh-ed25519 AAAA\S+ wid CA 2025 \(prod\) x{1005}\n\z/,
     '... one line with that comment');

my @cases = (
    { name => 'minimal', principals => ['deploy'], extra => [] },
    { name => 'options', principals => ['deploy', 'ops@REALM', 'role:db'],
      extra => ['--force-command', 'exec /usr/bin/backup --run',
                '--source-address', '10.0.0.0/8,192.168.1.7,2001:db8::/32',
                '--extension', 'permit-pty',
                '--extension', 'permit-X11-forwarding',
                '--extension', 'permit-agent-forwarding',
                '--extension', 'permit-port-forwarding',
                '--extension', 'permit-user-rc',
                '--extension', 'no-touch-required'] },
    { name => 'max-principals', principals => [map { "u$_" } 1 .. 256],
      extra => [] },
);
my %serials;
for my $c (@cases) {
    my $cert = "$d/$c->{name}-cert.pub";
    ($rc, $out, $err) = issue(ca_key => $ca_key, pubkey => "$key.pub",
                              principals => $c->{principals}, ttl => 600,
                              key_id => "spiffe://example.org/$c->{name} receipt=r",
                              out => $cert, extra => $c->{extra});
    is($rc, 0, "$c->{name}: issued") or diag($err);
    ($rc, $out, $err) = run('/usr/bin/ssh-keygen', '-L', '-f', $cert);
    is($rc, 0, "$c->{name}: ssh-keygen -L parses it") or diag($err);
    like($out, qr/Type: ssh-ed25519-cert-v01\@openssh\.com user certificate/,
         "$c->{name}: an ed25519 user certificate");
    like($out, qr/Signing CA: ED25519 \Q$ca_fp\E \(using ssh-ed25519\)/,
         "$c->{name}: signed by our CA");
    like($out, qr/Key ID: "spiffe:\/\/example\.org\/$c->{name} receipt=r"/,
         "$c->{name}: key id carries the SPIFFE ID");
    my ($serial) = $out =~ /Serial: (\d+)/;
    ok($serial && $serial != 0, "$c->{name}: non-zero serial");
    ok(!$serials{$serial}++, "$c->{name}: serial not reused");
    my ($from, $to) = $out =~ /Valid: from (\S+) to (\S+)/;
    ok($from && $to, "$c->{name}: bounded validity");
    my ($plist) = $out =~ /Principals: \n((?:\s{16}\S+\n)+)/;
    my @p = split ' ', $plist // '';
    is_deeply(\@p, $c->{principals}, "$c->{name}: principals as asked");
    if ($c->{name} eq 'minimal') {
        like($out, qr/Critical Options: \(none\)/, 'minimal: no critical options');
        like($out, qr/Extensions: \(none\)/, 'minimal: no extensions unless granted');
    }
    if ($c->{name} eq 'options') {
        like($out, qr/force-command exec \/usr\/bin\/backup --run/,
             'options: force-command');
        like($out, qr/source-address 10\.0\.0\.0\/8,192\.168\.1\.7,2001:db8::\/32/,
             'options: source-address');
        my ($ext) = $out =~ /Extensions: \n((?:\s{16}\S+\n)+)/;
        is_deeply([split ' ', $ext // ''],
                  [qw(no-touch-required permit-X11-forwarding
                      permit-agent-forwarding permit-port-forwarding
                      permit-pty permit-user-rc)],
                  'options: every extension, sorted');
    }
}

# Validity: backdated start of at most 60 s, end = now + TTL.
my $t0 = time;
($rc, $out, $err) = issue(ca_key => $ca_key, pubkey => "$key.pub",
                          principals => ['deploy'], ttl => 120,
                          extra => ['--backdate', '60']);
is($rc, 0, 'issue to stdout');
like($out, qr/^ssh-ed25519-cert-v01\@openssh\.com AAAA\S+ /, 'certificate line on stdout');
my ($va, $vb) = $err =~ /valid (\d+)\.\.(\d+)/;
ok($va >= $t0 - 60 && $va <= time - 60 + 1, 'valid_after backdated 60 s');
ok($vb >= $t0 + 120 && $vb <= time + 120, 'valid_before = now + TTL');

# Hostile requests: refused with a reason code, nothing written.
my @hostile = (
    [ 'principal with newline', ['deploy', "root\nadmin"], [],
      'ssh.principal_invalid', 1 ],
    [ 'principal with comma', ['root,admin'], [], 'ssh.principal_invalid', 1 ],
    [ 'principal with space', ['root admin'], [], 'ssh.principal_invalid', 1 ],
    [ 'principal with #', ['root#x'], [], 'ssh.principal_invalid', 1 ],
    [ 'empty principal', [''], [], 'ssh.principal_invalid', 1 ],
    [ 'no principal', [], [], 'ssh.principals_empty', 1 ],
    [ 'duplicate principal', ['a', 'a'], [], 'ssh.principal_duplicate', 1 ],
    [ '257 principals', [map { "u$_" } 1 .. 257], [],
      'ssh.too_many_principals', 1 ],
    [ 'TTL above 2^64', ['deploy'], ['--ttl', '18446744073709551616'],
      'ssh.ttl_invalid', 1 ],
    [ 'TTL 2^64-1', ['deploy'], ['--ttl', '18446744073709551615'],
      'ssh.ttl_invalid', 1 ],
    [ 'TTL zero', ['deploy'], ['--ttl', '0'], 'ssh.ttl_invalid', 1 ],
    [ 'TTL negative', ['deploy'], ['--ttl', '-5'], 'ssh.ttl_invalid', 1 ],
    [ 'TTL above a week', ['deploy'], ['--ttl', '604801'], 'ssh.ttl_invalid', 1 ],
    [ 'backdate above 60 s', ['deploy'], ['--backdate', '61'],
      'ssh.validity_invalid', 1 ],
    [ 'huge key id', ['deploy'], ['--key-id', 'k' x 100000],
      'ssh.key_id_invalid', 1 ],
    [ 'key id with newline', ['deploy'], ['--key-id', "a\nb"],
      'ssh.key_id_invalid', 1 ],
    [ 'source-address with host bits', ['deploy'],
      ['--source-address', '10.0.0.1/8'], 'ssh.source_address_invalid', 1 ],
    [ 'source-address hostname', ['deploy'],
      ['--source-address', 'evil.example'], 'ssh.source_address_invalid', 1 ],
    [ 'force-command with newline', ['deploy'],
      ['--force-command', "true\nrm -rf /"], 'ssh.force_command_invalid', 1 ],
    [ 'unknown extension', ['deploy'], ['--extension', 'permit-all'],
      'ssh.extension_unknown', 1 ],
);
for my $h (@hostile) {
    my ($what, $principals, $extra, $code, $exit) = @$h;
    my $outfile = "$d/hostile-cert.pub";
    unlink $outfile;
    my @argv = ($H, 'issue', '--ca-key', $ca_key, '--pubkey', "$key.pub",
                (grep({ $_ eq '--ttl' } @$extra) ? () : ('--ttl', '300')),
                (grep({ $_ eq '--key-id' } @$extra) ? ()
                    : ('--key-id', 'spiffe://example.org/x receipt=r')),
                (map { ('--principal', $_) } @$principals),
                @$extra, '--out', $outfile);
    ($rc, $out, $err) = run(@argv);
    is($rc, $exit, "$what: refused (exit $exit)");
    like($err, qr/\Q$code\E/, "$what: $code");
    ok(!-e $outfile, "$what: no certificate written");
}

# CA key file rules.
my ($loose_key) = make_ca($d, 'loose');
chmod(0640, $loose_key);
($rc, $out, $err) = issue(ca_key => $loose_key, pubkey => "$key.pub",
                          principals => ['deploy']);
is($rc, 2, 'group-readable CA key refused');
like($err, qr/key\.permissions_too_open/, 'with key.permissions_too_open');
symlink($ca_key, "$d/link.key");
($rc, $out, $err) = issue(ca_key => "$d/link.key", pubkey => "$key.pub",
                          principals => ['deploy']);
is($rc, 2, 'CA key through a symlink refused');
like($err, qr/key\.not_regular_file/, 'with key.not_regular_file');
SKIP: {
    skip 'ownership test needs root', 2 if $< != 0;
    my ($theirs) = make_ca($d, 'theirs');
    chown(scalar getpwnam('nobody'), -1, $theirs);
    ($rc, $out, $err) = issue(ca_key => $theirs, pubkey => "$key.pub",
                              principals => ['deploy']);
    is($rc, 2, 'CA key owned by another user refused');
    like($err, qr/key\.wrong_owner/, 'with key.wrong_owner');
}

# The receipt key must not be the CA key (OpenSSH or SPKI PEM form).
($rc, $out, $err) = run('/usr/bin/openssl', 'pkey', '-in', $ca_key, '-pubout',
                        '-out', "$d/ca-spki.pem");
for my $rk ($ca_pub, "$d/ca-spki.pem") {
    ($rc, $out, $err) = issue(ca_key => $ca_key, pubkey => "$key.pub",
                              principals => ['deploy'],
                              extra => ['--receipt-pubkey', $rk]);
    is($rc, 2, "CA key configured as receipt key ($rk) refused");
    like($err, qr/ssh\.ca_is_receipt_key/, 'with ssh.ca_is_receipt_key');
}
my (undef, $other_pub) = make_ca($d, 'receipt');
($rc) = issue(ca_key => $ca_key, pubkey => "$key.pub", principals => ['deploy'],
              extra => ['--receipt-pubkey', $other_pub]);
is($rc, 0, 'a separate receipt key is fine');

# Only ed25519 subject keys.
run('/usr/bin/ssh-keygen', '-q', '-t', 'ecdsa', '-N', '', '-f', "$d/id_ecdsa");
($rc, $out, $err) = issue(ca_key => $ca_key, pubkey => "$d/id_ecdsa.pub",
                          principals => ['deploy']);
is($rc, 1, 'ecdsa subject key refused');
like($err, qr/ssh\.key_type_unsupported/, 'with ssh.key_type_unsupported');

# Usage errors exit 2.
($rc, $out, $err) = run($H, 'issue', '--ca-key', $ca_key);
is($rc, 2, 'missing arguments: usage error');
($rc, $out, $err) = run($H, 'issue', '--bogus', 'x');
is($rc, 2, 'unknown option: usage error');

done_testing();
