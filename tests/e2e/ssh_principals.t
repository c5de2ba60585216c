#!/usr/bin/perl
# ssh-wid-helper principals, called the way sshd calls it, with hostile
# arguments: every deny prints nothing, exits non-zero and names a
# reason code; configuration problems fail closed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use MIME::Base64 qw(decode_base64 encode_base64);
use Test::More;
use WidSshd qw(run slurp spew helper_bin make_ca make_user_key issue);

plan skip_all => 'ssh-wid-helper not built' unless -x helper_bin();

my $d = tempdir('wid-sshprinc-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $H = helper_bin();
my ($ca_key, $ca_pub) = make_ca($d, 'ca');
my $key = make_user_key($d, 'id_user');
my $T = 'ssh-ed25519-cert-v01@openssh.com';
my ($rc, $out, $err);

run('/usr/bin/ssh-keygen', '-q', '-k', '-f', "$d/krl", '/dev/null');
spew("$d/helper.conf", "ca_pubkey $ca_pub\nkrl $d/krl\nlog $d/decisions.log\n",
     0644);
($rc, undef, $err) = issue(ca_key => $ca_key, pubkey => "$key.pub",
                           principals => ['deploy', 'backup'],
                           key_id => 'spiffe://example.org/job receipt=9',
                           out => "$d/cert.pub");
die $err if $rc;
my (undef, $b64) = split ' ', slurp("$d/cert.pub");
my ($serial) = (run('/usr/bin/ssh-keygen', '-L', '-f', "$d/cert.pub"))[1]
               =~ /Serial: (\d+)/;

sub principals {
    my (%o) = @_;
    my @argv = ($H, 'principals', '--config', $o{config} // "$d/helper.conf",
                '--user', $o{user} // 'deploy', '--type', $o{type} // $T,
                '--cert', $o{cert} // $b64);
    push @argv, '--key-id', $o{key_id} if defined $o{key_id};
    push @argv, '--serial', $o{serial} if defined $o{serial};
    return run(@argv);
}

($rc, $out, $err) = principals(key_id => 'spiffe://example.org/job receipt=9',
                               serial => $serial);
is($rc, 0, 'allow with every sshd token');
is($out, "deploy\n", 'prints only the login user as principal');
($rc, $out) = principals(user => 'backup');
is($out, "backup\n", 'other principal for its own account');

my $blob = decode_base64($b64);

# The same certificate with a 70,000-byte key id spliced in (unsigned).
sub huge_key_id {
    my ($b) = @_;
    my $off = 0;
    for (1 .. 3) {                       # type name, nonce, public key
        $off += 4 + unpack('N', substr($b, $off, 4));
    }
    $off += 8 + 4;                       # serial, certificate type
    my $len = unpack('N', substr($b, $off, 4));
    my $k = 'k' x 70000;
    return substr($b, 0, $off) . pack('N', length $k) . $k
         . substr($b, $off + 4 + $len);
}
my @deny = (
    [ 'principal not in certificate', { user => 'root' },
      'ssh.principal_mismatch' ],
    [ 'key id disagrees with %i', { key_id => 'spiffe://example.org/other' },
      'ssh.arg_mismatch' ],
    [ 'serial disagrees with %s', { serial => $serial + 1 },
      'ssh.arg_mismatch' ],
    [ 'serial not a number', { serial => "12 OR 1" }, 'ssh.arg_mismatch' ],
    [ 'plain key type', { type => 'ssh-ed25519' },
      'ssh.key_type_unsupported' ],
    [ 'garbage base64', { cert => 'AAAA!!!!' }, 'ssh.cert_malformed' ],
    [ 'empty certificate', { cert => '' }, 'ssh.cert_malformed' ],
    [ 'trailing data', { cert => encode_base64($blob . "\0", '') },
      'ssh.cert_malformed' ],
    [ 'truncated', { cert => encode_base64(substr($blob, 0, 100), '') },
      'ssh.cert_malformed' ],
    [ 'flipped signature bit',
      { cert => encode_base64(substr($blob, 0, -1)
                              . chr(ord(substr($blob, -1)) ^ 1), '') },
      'ssh.cert_signature_invalid' ],
    [ 'huge key id', { cert => encode_base64(huge_key_id($blob), '') },
      'ssh.key_id_invalid' ],
    [ 'zero bytes', { cert => 'A' x 100000 }, 'ssh.key_type_unsupported' ],
);
for my $c (@deny) {
    my ($what, $args, $code) = @$c;
    ($rc, $out, $err) = principals(%$args);
    is($rc, 1, "$what: denied");
    is($out, '', "$what: no principal printed");
    like($err, qr/\Q$code\E/, "$what: $code");
}

# Each decision is recorded (sshd discards stderr).
my @log = split /\n/, slurp("$d/decisions.log");
is(scalar @log, 2 + @deny, 'one log line per decision');
like($log[0], qr/"verdict":"allow".*"serial":"$serial"/, 'allow logged with serial');
like($log[2], qr/"verdict":"deny","reason":"ssh\.principal_mismatch","user":"root"/,
     'deny logged with reason and user');

# Fail closed on configuration.
($rc, $out, $err) = principals(config => "$d/missing.conf");
is($rc, 2, 'missing config: denied');
is($out, '', 'missing config: no principal');
spew("$d/typo.conf", "ca_pubkey $ca_pub\nkrl $d/krl\nrevoked_keys x\n", 0644);
($rc, $out, $err) = principals(config => "$d/typo.conf");
is($rc, 2, 'unknown keyword: denied');
like($err, qr/unknown keyword 'revoked_keys'/, 'names the bad keyword');
spew("$d/open.conf", "ca_pubkey $ca_pub\nkrl $d/krl\n", 0666);
chmod(0666, "$d/open.conf");
($rc, $out, $err) = principals(config => "$d/open.conf");
is($rc, 2, 'world-writable config: denied');

# Who may change the configuration decides who logs in (it names the CA
# and the KRL): owner and parent directories are checked like sshd's
# safe_path.
my $good = slurp("$d/helper.conf");
sub cfg_in {
    my ($dir, $mode) = @_;
    mkdir $dir or die "$dir: $!";
    chmod($mode, $dir);
    spew("$dir/helper.conf", $good, 0644);
    return "$dir/helper.conf";
}
my @ok = (user => 'deploy');
($rc, $out) = principals(@ok, config => cfg_in("$d/sticky", 01777));
is($rc, 0, 'config in a sticky directory (like /tmp): accepted');
is($out, "deploy\n", '... and the principal printed');
($rc, $out, $err) = principals(@ok, config => cfg_in("$d/gw", 0775));
is($rc, 2, 'config in a group-writable directory: denied');
like($err, qr/directory \S+\/gw is writable by group or others/,
     '... naming the directory and what is wrong with it');
unlike($err, qr/owned by/, '... not its (acceptable) owner');
is($out, '', '... no principal');
($rc, $out, $err) = principals(@ok, config => cfg_in("$d/gw2", 0757)
                                      =~ s{/gw2/}{/gw2/./}r);
is($rc, 2, 'config in a world-writable directory (path with ./): denied');
mkdir "$d/safe";
spew("$d/safe/helper.conf", $good, 0644);
symlink("$d/safe/helper.conf", "$d/gw/link.conf") or die;
($rc, $out, $err) = principals(@ok, config => "$d/gw/link.conf");
is($rc, 2, 'symlink in a writable directory to a safe config: denied');
SKIP: {
    skip 'needs root to give files away', 6 if $> != 0;
    my $nobody = getpwnam('nobody');
    my $f = cfg_in("$d/other-owner", 0755);
    chown($nobody, -1, $f) or die;
    ($rc, $out, $err) = principals(@ok, config => $f);
    is($rc, 2, 'config 0644 owned by another user: denied');
    like($err, qr/owned by uid $nobody, neither root nor the user/,
         '... naming the owner');
    is($out, '', '... no principal');
    $f = cfg_in("$d/other-dir", 0755);
    chown($nobody, -1, "$d/other-dir") or die;
    ($rc, $out, $err) = principals(@ok, config => $f);
    is($rc, 2, 'config in a directory owned by another user: denied');
    like($err, qr/directory \S+other-dir is owned by uid $nobody, neither root/,
         '... naming the directory and its owner');
    ($rc, $out) = principals(@ok, config => "$d/safe/helper.conf");
    is($rc, 0, 'the same config in a safe directory: accepted');
}

spew("$d/nokrl.conf", "ca_pubkey $ca_pub\nkrl $d/absent.krl\n", 0644);
($rc, $out, $err) = principals(config => "$d/nokrl.conf");
is($rc, 2, 'KRL missing: denied');
like($err, qr/ssh\.krl_unreadable/, 'with ssh.krl_unreadable');
is($out, '', 'KRL missing: no principal');

($rc) = run($H, 'principals', '--config', "$d/helper.conf");
is($rc, 2, 'missing sshd tokens: usage error');

done_testing();
