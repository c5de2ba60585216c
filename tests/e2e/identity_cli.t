#!/usr/bin/perl
# wid id parse, wid svid verify, wid bundle show: exit codes, reason codes
# on stderr and in --json.  JWT-SVIDs here are minted by Perl's Crypt::JWT
# (a third implementation, besides wid and python3-jwcrypto).
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use JSON::PP;
use MIME::Base64 qw(encode_base64url);
use Crypt::JWT qw(encode_jwt);
use Test::More;

my $root = "$FindBin::Bin/../..";
my $wid = $ENV{WID_BIN} || "$root/build/bin/wid";
my $pki = "$root/tests/tools/widpki";
my $mint = "$root/tests/tools/mint-jwt";
my $d = tempdir(CLEANUP => 1);

sub run {
    my $out = `@_ 2>$d/stderr`;
    my $err = do { local $/; open my $f, '<', "$d/stderr"; <$f> };
    return ($? >> 8, $out, $err);
}
sub slurp { local $/; open my $f, '<', $_[0] or die "$_[0]: $!"; <$f> }
sub spew { open my $f, '>', $_[0] or die; print $f $_[1]; close $f }

# --- wid id parse -------------------------------------------------------
my ($rc, $out, $err) = run("$wid id parse spiffe://example.org/ns/prod/sa/web");
is($rc, 0, 'id parse: valid ID exits 0');
like($out, qr{^trust_domain: example\.org$}m, 'prints the trust domain');
like($out, qr{^path: /ns/prod/sa/web$}m, 'prints the path');

for my $case (['spiffe://Example.org/x', 'id.trust_domain_uppercase'],
              ['spiffe://example.org/a/../b', 'id.path_dot_segment'],
              ['spiffe://example.org/a/', 'id.path_trailing_slash'],
              ['spiffe://example.org:443/a', 'id.port'],
              ['https://example.org/a', 'id.wrong_scheme'],
              ['spiffe://example.org/a%2Fb', 'id.percent_encoding']) {
    ($rc, $out, $err) = run("$wid id parse '$case->[0]'");
    is($rc, 1, "id parse $case->[0] exits 1");
    like($err, qr/\Q$case->[1]\E/, "... with $case->[1] on stderr");
    ($rc, $out) = run("$wid id parse '$case->[0]' --json");
    is(decode_json($out)->{reason}, $case->[1], "... and in --json");
}
($rc) = run("$wid id parse");
is($rc, 2, 'id parse without an ID is a usage error');

# --- X.509-SVIDs -----------------------------------------------------
system("$pki td $d/pki a.org --intermediates 1 >/dev/null") == 0 or die;
system("$pki td $d/pki b.org >/dev/null") == 0 or die;
system("$pki leaf $d/pki a.org $d/good --id spiffe://a.org/web >/dev/null") == 0
    or die;
system("$pki leaf $d/pki b.org $d/cross --id spiffe://a.org/web >/dev/null") == 0
    or die;
system("$pki leaf $d/pki a.org $d/rootpath --id spiffe://a.org >/dev/null") == 0
    or die;
my $bundles = "--bundle a.org=$d/pki/a.org.pem --bundle b.org=$d/pki/b.org.pem";

($rc, $out) = run("$wid svid verify $bundles --x509 $d/good.pem --json");
is($rc, 0, 'x509: valid SVID exits 0');
my $j = decode_json($out);
is($j->{spiffe_id}, 'spiffe://a.org/web', 'x509: SPIFFE ID');
is($j->{credential}, 'x509_svid', 'x509: credential kind');
like($j->{fingerprint_sha256}, qr/^[0-9a-f]{64}$/, 'x509: fingerprint');
my $fp = lc `openssl x509 -in $d/good.leaf.pem -noout -fingerprint -sha256`;
$fp =~ s/.*=//; $fp =~ s/[:\s]//g;
is($j->{fingerprint_sha256}, $fp, 'x509: fingerprint as openssl computes it');
my $bh = `sha256sum $d/pki/a.org.pem`; $bh =~ s/\s.*//s;
is($j->{bundle_sha256}, $bh, 'x509: hash of the bundle file');

($rc, $out, $err) = run("$wid svid verify $bundles --x509 $d/cross.pem");
is($rc, 1, 'x509: cross-trust-domain attack rejected');
like($err, qr/x509\.trust_domain_mismatch/, '... as trust_domain_mismatch');
($rc, $out) = run("$wid svid verify $bundles --x509 $d/rootpath.pem --json");
is($rc, 1, 'x509: root-path leaf rejected');
is(decode_json($out)->{reason}, 'x509.leaf_root_path', '... reason in --json');
($rc, $out, $err) = run("$wid svid verify --bundle a.org=$d/pki/a.org.pem"
                        . " --x509 $d/good.pem --now 100");
is($rc, 1, 'x509: --now before notBefore rejected');
like($err, qr/x509\.not_yet_valid/, '... as not_yet_valid');
($rc, $out, $err) = run("$wid svid verify --bundle b.org=$d/pki/b.org.pem"
                        . " --x509 $d/good.pem");
like($err, qr/bundle\.unknown_trust_domain/, 'x509: no bundle for a.org');

($rc, $out, $err) = run("$wid svid verify --bundle a.org=$d/missing.pem"
                        . " --x509 $d/good.pem");
is($rc, 2, 'unreadable bundle at start: operational error (2)');
like($err, qr/bundle\.unreadable/, '... named');
spew("$d/torn.pem", substr(slurp("$d/pki/a.org.pem"), 0, 200));
($rc, $out, $err) = run("$wid svid verify --bundle a.org=$d/torn.pem"
                        . " --x509 $d/good.pem");
is($rc, 2, 'torn bundle at start refused');
like($err, qr/bundle\.pem_invalid/, '... as pem_invalid');
($rc) = run("$wid svid verify $bundles");
is($rc, 2, 'svid verify without a credential: usage (2)');
($rc) = run("$wid svid verify $bundles --x509 $d/good.pem --jwt x --audience a");
is($rc, 2, 'both --x509 and --jwt: usage (2)');

# --- JWT-SVIDs ---------------------------------------------------------
my $now = time;
system("/usr/bin/python3 $mint suite $d/jwt --now $now >/dev/null") == 0
    or die 'mint-jwt';
my $claims = { sub => 'spiffe://a.org/web', aud => ['wid-test'],
               exp => $now + 600, iat => $now };
my %keys = (ES256 => 'a-ec256', RS256 => 'a-rsa', PS256 => 'a-rsa',
            ES384 => 'a-ec384', ES512 => 'a-ec521');
my $jb = "--bundle a.org=$d/jwt/a.org.json --bundle b.org=$d/jwt/b.org.json";
for my $alg (sort keys %keys) {
    my $pem = slurp("$d/jwt/keys/$keys{$alg}.pem");
    my $t = encode_jwt(payload => $claims, alg => $alg, key => \$pem,
                       extra_headers => { kid => $keys{$alg}, typ => 'JWT' });
    spew("$d/$alg.jwt", "$t\n");
    ($rc, $out) = run("$wid svid verify $jb --jwt \@$d/$alg.jwt"
                      . " --audience wid-test --json");
    is($rc, 0, "jwt: Crypt::JWT $alg token verifies");
    $j = decode_json($out);
    is($j->{spiffe_id}, 'spiffe://a.org/web', "jwt $alg: SPIFFE ID");
    is($j->{not_after}, $now + 600, "jwt $alg: not_after is exp");
    is($j->{audience}, 'wid-test', "jwt $alg: audience matched");
}
# The credential id is the SHA-256 of the signing input (the token up to
# its last '.') whatever the signature's digest.
for my $alg (qw(ES256 ES384 ES512)) {
    my $t = slurp("$d/$alg.jwt"); chomp $t;
    my $si = substr($t, 0, rindex($t, '.'));
    my $th = `printf %s '$si' | sha256sum`; $th =~ s/\s.*//s;
    ($rc, $out) = run("$wid svid verify $jb --jwt '$t' --audience wid-test"
                      . ' --json');
    is(decode_json($out)->{signing_input_sha256}, $th,
       "jwt $alg: signing_input_sha256 of the token");
}
my $es = slurp("$d/ES256.jwt"); chomp $es;
($rc, $out) = run("$wid svid verify --bundle $d/jwt/jwt_bundle.json"
                  . " --jwt '$es' --audience wid-test");
is($rc, 0, 'jwt: spiffe-helper jwt_bundle.json map as the bundle');

my $none = encode_base64url('{"alg":"none"}') . '.'
         . encode_base64url(encode_json($claims)) . '.';
($rc, $out, $err) = run("$wid svid verify $jb --jwt '$none' --audience wid-test");
is($rc, 1, 'jwt: alg none rejected');
like($err, qr/jwt\.alg_not_allowed/, '... as alg_not_allowed');
($rc, $out) = run("$wid svid verify $jb --jwt '$es' --audience other --json");
is(decode_json($out)->{reason}, 'jwt.aud_mismatch', 'jwt: wrong audience');
($rc, $out) = run("$wid svid verify $jb --jwt '$es' --audience '' --json");
is($rc, 1, 'jwt: empty expected audience refused');
is(decode_json($out)->{reason}, 'jwt.audience_not_configured',
   '... as audience_not_configured, never "any"');
($rc, $out) = run("$wid svid verify $jb --jwt '$es' --audience wid-test"
                  . " --now " . ($now + 700) . " --json");
is(decode_json($out)->{reason}, 'jwt.expired', 'jwt: --now after exp');
($rc, $out) = run("$wid svid verify $jb --jwt '$es' --audience wid-test"
                  . " --now " . ($now + 700) . " --leeway 120");
is($rc, 0, 'jwt: --leeway absorbs clock skew');
($rc) = run("$wid svid verify $jb --jwt '$es'");
is($rc, 2, 'jwt without --audience: usage (2)');
my $pemb = slurp("$d/jwt/keys/b-ec256.pem");
my $foreign = encode_jwt(payload => $claims, alg => 'ES256', key => \$pemb,
                         extra_headers => { kid => 'b-ec256' });
($rc, $out) = run("$wid svid verify $jb --jwt '$foreign' --audience wid-test"
                  . " --json");
is(decode_json($out)->{reason}, 'jwt.kid_unknown',
   'jwt: key of another trust domain refused');

# A bare trust domain as sub, correctly signed by a.org's key.
my $pema = slurp("$d/jwt/keys/a-ec256.pem");
my $rootsub = encode_jwt(payload => { %$claims, sub => 'spiffe://a.org' },
                         alg => 'ES256', key => \$pema,
                         extra_headers => { kid => 'a-ec256' });
($rc, $out, $err) = run("$wid svid verify $jb --jwt '$rootsub'"
                        . " --audience wid-test");
is($rc, 1, 'jwt: sub without a path rejected');
like($err, qr/jwt\.sub_root_path/, '... as sub_root_path');

# --max-lifetime: the Crypt::JWT tokens live exp - iat = 600 s.
($rc) = run("$wid svid verify $jb --jwt '$es' --audience wid-test"
            . " --max-lifetime 600");
is($rc, 0, 'jwt: lifetime within --max-lifetime');
($rc, $out) = run("$wid svid verify $jb --jwt '$es' --audience wid-test"
                  . " --max-lifetime 599 --json");
is($rc, 1, 'jwt: lifetime over --max-lifetime rejected');
is(decode_json($out)->{reason}, 'jwt.lifetime_too_long',
   '... as lifetime_too_long');
($rc) = run("$wid svid verify $jb --jwt '$es' --audience wid-test"
            . " --max-lifetime 0");
is($rc, 2, 'jwt: --max-lifetime 0 is a usage error');
($rc) = run("$wid svid verify $bundles --x509 $d/good.pem --max-lifetime 60");
is($rc, 2, 'x509: --max-lifetime is for JWT-SVIDs only');

# --- wid bundle show ---------------------------------------------------
($rc, $out) = run("$wid bundle show a.org=$d/jwt/a.org.json --json");
is($rc, 0, 'bundle show exits 0');
$j = decode_json($out)->{trust_domains}[0];
is($j->{trust_domain}, 'a.org', 'bundle show: trust domain');
is(scalar @{$j->{jwt_authorities}}, 4, 'bundle show: 4 JWT authorities');
is($j->{skipped_entries}, 2, 'bundle show: unknown use/kty skipped');
is($j->{spiffe_sequence}, 7, 'bundle show: spiffe_sequence');
is($j->{spiffe_refresh_hint}, 300, 'bundle show: spiffe_refresh_hint');
($rc, $out) = run("$wid bundle show $d/pki");
is($rc, 0, 'bundle show: a directory of <td>.pem');
like($out, qr/^trust_domain: a\.org$/m, '... lists a.org');
like($out, qr/^trust_domain: b\.org$/m, '... and b.org');
spew("$d/dup.json", '{"keys":[],"keys":[]}');
($rc, $out, $err) = run("$wid bundle show a.org=$d/dup.json");
is($rc, 1, 'bundle show: invalid bundle exits 1');
like($err, qr/bundle\.duplicate_key/, '... with its reason');
($rc) = run("$wid bundle show a.org=$d/nope.json");
is($rc, 2, 'bundle show: unreadable bundle exits 2');

# TD=DIR is refused on purpose (a directory's files name their own trust
# domains), with its own code.
($rc, $out, $err) = run("$wid svid verify --bundle a.org=$d/pki"
                        . " --x509 $d/good.pem");
is($rc, 2, 'svid verify --bundle TD=DIR: exit 2');
like($err, qr/bundle\.directory_named: a directory was given as one trust/,
     '... bundle.directory_named, saying why');
($rc, $out, $err) = run("$wid bundle show a.org=$d/pki");
is($rc, 2, 'bundle show TD=DIR: exit 2');
like($err, qr/bundle\.directory_named: .*give the directory alone/,
     '... the same code and message');
($rc, $out) = run("$wid bundle show --json a.org=$d/pki");
is(decode_json($out)->{reason}, 'bundle.directory_named', '... and in --json');
mkdir "$d/emptydir";
($rc, $out, $err) = run("$wid bundle show $d/emptydir");
is($rc, 2, 'bundle show: an empty directory exits 2, nothing was judged');
like($err, qr/bundle\.directory_empty/, '... with bundle.directory_empty');
($rc, $out, $err) = run("$wid svid verify --bundle $d/emptydir"
                        . " --x509 $d/good.pem");
is($rc, 2, 'svid verify: the same');
like($err, qr/bundle\.directory_empty/, '... and code');
($rc, $out, $err) = run("$wid svid verify --bundle a.org= --x509 $d/good.pem");
like($err, qr/internal\.config_error: TD= names no file/, 'TD= alone: says so');
($rc, $out, $err) = run("$wid svid verify");
like($err, qr/--bundle \(TD=FILE \| DIR \| MAPFILE\)\.\.\./,
     'usage: TD=FILE, DIR or MAPFILE, never TD=DIR');

done_testing;
