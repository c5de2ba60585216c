#!/usr/bin/perl
# Kubernetes projected service-account tokens and GitHub Actions OIDC
# tokens through `wid attest verify`: JWKS by kid, forged tokens (another
# key under the same kid), iss/aud/exp rules; then the second
# registration phase (workload beneath an attested node) with a node
# result signed by the verifier.  Tokens are minted here with Crypt::JWT.
use strict;
use warnings;
use Crypt::JWT qw(encode_jwt);
use Crypt::PK::ECC;
use Crypt::PK::RSA;
use File::Temp qw(tempdir);
use FindBin;
use JSON::PP;
use Test::More;

my $root = "$FindBin::Bin/../..";
my $wid = $ENV{WID_BIN} || "$root/build/bin/wid";
my $d = tempdir(CLEANUP => 1);

sub sh { my $o = `@_ 2>&1`; return ($? >> 8, $o) }
sub must { my ($rc, $o) = sh(@_); die "failed: @_\n$o" if $rc; $o }
sub spew { open my $f, '>', $_[0] or die; print $f $_[1]; close $f }

my $k8s = Crypt::PK::ECC->new; $k8s->generate_key('secp256r1');
my $gh = Crypt::PK::RSA->new; $gh->generate_key(256);
my $evil = Crypt::PK::ECC->new; $evil->generate_key('secp256r1');

sub jwk { my ($k, $kid, $alg) = @_;
          my $j = decode_json($k->export_key_jwk('public'));
          return { %$j, kid => $kid, use => 'sig', alg => $alg } }
spew("$d/k8s.jwks", encode_json({ keys => [ jwk($k8s, 'k1', 'ES256') ] }));
spew("$d/gh.jwks", encode_json({ keys => [ jwk($gh, 'gh1', 'RS256') ] }));

my $now = time;
my $ISS = 'https://kubernetes.default.svc.cluster.local';
my $n = 0;
sub token {
    my ($key, $alg, $kid, $claims) = @_;
    $n++;
    my $t = encode_jwt(payload => $claims, key => $key, alg => $alg,
                       extra_headers => { kid => $kid });
    spew("$d/tok$n", "$t\n");
    return "$d/tok$n";
}
sub psat {
    my (%o) = @_;
    my $c = { iss => $ISS, aud => ['wid'], exp => $now + 600,
              iat => $now - 5, nbf => $now - 5,
              sub => 'system:serviceaccount:payments:worker',
              'kubernetes.io' => { namespace => 'payments',
                  serviceaccount => { name => 'worker', uid => 'sa-1' },
                  pod => { name => 'worker-1', uid => 'pod-1' },
                  node => { name => 'node-a', uid => 'n-1' } }, %o };
    delete $c->{$_} for grep { !defined $c->{$_} } keys %$c;
    return $c;
}
sub vpsat {
    my ($tok, $extra) = @_;
    return sh("$wid attest verify --kind k8s_psat --evidence $tok"
              . " --jwks $d/k8s.jwks --issuer $ISS --audience wid "
              . ($extra // ''));
}

my ($rc, $out) = vpsat(token($k8s, 'ES256', 'k1', psat()));
is($rc, 0, 'PSAT signed by the JWKS key: verified') or diag($out);
my $a = eval { decode_json($out) } || {};
is($a->{attestationType}, 'k8s_psat', 'type k8s_psat');
ok((grep { $_->{value} eq 'ns:payments' } @{$a->{selectors}}),
   'namespace selector');
ok((grep { $_->{value} eq 'sa:worker' } @{$a->{selectors}}),
   'service account selector');
ok((grep { $_->{value} eq 'pod-name:worker-1' } @{$a->{selectors}}),
   'pod selector');

($rc, $out) = vpsat(token($evil, 'ES256', 'k1', psat()));
is($rc, 1, 'forged PSAT: another key under the same kid: refused');
like($out, qr/attest\.token_bad_signature/, '... bad signature');

($rc, $out) = vpsat(token($k8s, 'ES256', 'k9', psat()));
like($out, qr/attest\.token_key_unknown/, 'kid not in the JWKS: refused');

($rc, $out) = vpsat(token($k8s, 'ES256', 'k1', psat(aud => undef)));
is($rc, 1, 'PSAT without aud: refused');
like($out, qr/attest\.token_audience_mismatch/, '... audience');

($rc, $out) = vpsat(token($k8s, 'ES256', 'k1', psat(aud => ['api'])));
like($out, qr/attest\.token_audience_mismatch/, 'other audience: refused');

($rc, $out) = vpsat(token($k8s, 'ES256', 'k1', psat(iss => undef)));
like($out, qr/attest\.token_issuer_mismatch/, 'no iss: refused');

($rc, $out) = vpsat(token($k8s, 'ES256', 'k1',
                          psat(exp => $now - 120, iat => $now - 700,
                               nbf => $now - 700)));
is($rc, 1, 'expired PSAT: refused');
like($out, qr/attest\.token_expired/, '... expired');

# Inside the 30 s leeway but past exp: no time left for a result that
# may not outlive the token.
($rc, $out) = vpsat(token($k8s, 'ES256', 'k1',
                          psat(exp => $now - 20, iat => $now - 600,
                               nbf => $now - 600)));
is($rc, 1, 'PSAT past exp, within the leeway: refused');
like($out, qr/attest\.token_expired/, '... expired');

($rc, $out) = vpsat(token($k8s, 'ES256', 'k1', psat(exp => undef)));
like($out, qr/attest\.token_exp_missing/, 'no exp: refused');

($rc, $out) = vpsat(token($k8s, 'ES256', 'k1', psat(nbf => $now + 600,
                                                    exp => $now + 900)));
like($out, qr/attest\.token_not_yet_valid/, 'nbf in the future: refused');

($rc, $out) = vpsat(token($k8s, 'ES256', 'k1',
                          psat(exp => $now + 365 * 86400)),
                    '--max-lifetime 3600');
like($out, qr/attest\.token_lifetime_too_long/,
     'year-long token with --max-lifetime: refused');

($rc, $out) = sh("$wid attest verify --kind k8s_psat --evidence $d/tok1"
                 . " --jwks $d/k8s.jwks --audience wid");
is($rc, 2, 'PSAT without a configured issuer: operational error');

# --- GitHub Actions OIDC -----------------------------------------------
my $GH = 'https://token.actions.githubusercontent.com';
sub ghc { my %o = @_;
    my $c = { iss => $GH, aud => 'wid', exp => $now + 300, iat => $now,
              sub => 'repo:acme/app:ref:refs/heads/main',
              repository => 'acme/app', repository_owner => 'acme',
              ref => 'refs/heads/main', sha => 'a' x 40,
              workflow => 'release', runner_environment => 'github-hosted',
              %o };
    delete $c->{$_} for grep { !defined $c->{$_} } keys %$c;
    return $c;
}
sub vgh {
    return sh("$wid attest verify --kind github_oidc --evidence $_[0]"
              . " --jwks $d/gh.jwks --audience wid " . ($_[1] // ''));
}
($rc, $out) = vgh(token($gh, 'RS256', 'gh1', ghc()));
is($rc, 0, 'GitHub OIDC token (default issuer): verified') or diag($out);
$a = eval { decode_json($out) } || {};
ok((grep { $_->{value} eq 'repository:acme/app' } @{$a->{selectors}}),
   'repository selector');
ok((grep { $_->{value} eq 'ref:refs/heads/main' } @{$a->{selectors}}),
   'ref selector');
ok((grep { $_->{value} eq 'workflow:release' } @{$a->{selectors}}),
   'workflow selector');

my $gh_evil = Crypt::PK::RSA->new; $gh_evil->generate_key(256);
($rc, $out) = vgh(token($gh_evil, 'RS256', 'gh1', ghc()));
like($out, qr/attest\.token_bad_signature/,
     'forged OIDC token under the same kid: refused');
($rc, $out) = vgh(token($gh, 'RS256', 'gh1', ghc(aud => undef)));
like($out, qr/attest\.token_audience_mismatch/, 'OIDC without aud: refused');
($rc, $out) = vgh(token($gh, 'RS256', 'gh1',
                        ghc(exp => $now - 100, iat => $now - 400)));
like($out, qr/attest\.token_expired/, 'expired OIDC token: refused');
($rc, $out) = vgh(token($gh, 'RS256', 'gh1',
                        ghc(iss => 'https://token.actions.example.com')));
like($out, qr/attest\.token_issuer_mismatch/, 'other issuer: refused');

# --- phase 2: workload beneath an attested node --------------------------
must("$wid keygen --out $d/v");
must("$wid keygen --out $d/x");
spew("$d/entries.json", encode_json({
    nodes => [],
    workloads => [
        { id => 'spiffe://example.org/payments/worker',
          parent => 'spiffe://example.org/node/a', tier => 'attested',
          selectors => ['k8s:ns:payments', 'k8s:sa:worker'] },
    ] }));
# A workload's own result (a PSAT bound with --spiffe-id) is no node
# result, even for the ID an entry names as parent: only node evidence
# (tpm, aws_iid) attests a node.
my $nodetok = token($k8s, 'ES256', 'k1', psat());
($rc, $out) = vpsat($nodetok, "--spiffe-id spiffe://example.org/node/a"
                              . " --sign-key $d/v.key");
is($rc, 0, 'a signed result of a workload kind') or diag($out);
spew("$d/psat-as-node.jws", decode_json($out)->{result});

# The node's result, as the node phase signs it: an instance identity
# document (a stand-in for AWS's signing certificate) matched to a node.
must("openssl req -x509 -newkey rsa:2048 -nodes -keyout $d/aws.key"
     . " -out $d/aws.pem -subj /CN=aws -days 2 2>/dev/null");
spew("$d/iid.json", qq({"accountId":"123456789012",)
     . qq("instanceId":"i-0abc123def4567890","region":"eu-west-1",)
     . qq("availabilityZone":"eu-west-1a","imageId":"ami-0123456789abcdef0",)
     . qq("instanceType":"t3.micro","pendingTime":"2026-11-23T01:00:00Z"}));
must("openssl smime -sign -binary -nodetach -md sha256 -in $d/iid.json"
     . " -signer $d/aws.pem -inkey $d/aws.key -outform DER -out $d/iid.p7");
{
    open my $f, '<', "$d/iid.p7" or die; binmode $f; local $/;
    my $p7 = <$f>;
    open my $j, '<', "$d/iid.json" or die; my $doc = <$j>;
    require MIME::Base64;
    spew("$d/iid-ev.json", encode_json({
        document => $doc, pkcs7 => MIME::Base64::encode_base64($p7, '') }));
}
spew("$d/node-entries.json", encode_json({
    nodes => [ { id => 'spiffe://example.org/node/a',
                 selectors => ['aws_iid:account:123456789012'] } ],
    workloads => [] }));
($rc, $out) = sh("$wid attest verify --kind aws_iid --evidence $d/iid-ev.json"
                 . " --aws-cert $d/aws.pem --state $d/iid-state"
                 . " --entries $d/node-entries.json --sign-key $d/v.key");
is($rc, 0, 'a signed result for the node') or diag($out);
spew("$d/node.jws", decode_json($out)->{result});

my $wl = token($k8s, 'ES256', 'k1', psat());
($rc, $out) = vpsat($wl, "--entries $d/entries.json");
is($rc, 1, 'workload evidence without an attested node: refused');
like($out, qr/attest\.node_not_attested/, '... node not attested');

($rc, $out) = vpsat($wl, "--entries $d/entries.json"
                         . " --node-result \@$d/psat-as-node.jws"
                         . " --pubkey $d/v.pub");
is($rc, 1, 'a workload result given as the node result: refused');
like($out, qr/attest\.node_not_attested/, '... node not attested');

($rc, $out) = vpsat($wl, "--entries $d/entries.json"
                         . " --node-result \@$d/node.jws --pubkey $d/x.pub");
like($out, qr/attest\.node_not_attested/,
     'node result from an untrusted verifier: refused');

($rc, $out) = vpsat($wl, "--entries $d/entries.json"
                         . " --node-result \@$d/node.jws --pubkey $d/v.pub"
                         . " --sign-key $d/v.key");
is($rc, 0, 'workload beneath the attested node: matched') or diag($out);
$a = eval { decode_json($out) } || {};
is($a->{spiffeId}, 'spiffe://example.org/payments/worker',
   'workload SPIFFE ID from the entry');
is($a->{tier}, 'attested', 'entry tier');
spew("$d/wl.jws", $a->{result} // '');
($rc, $out) = sh("$wid attest result verify \@$d/wl.jws --pubkey $d/v.pub"
                 . " --spiffe-id spiffe://example.org/payments/other");
like($out, qr/attest\.identity_conflict/,
     'workload result presented with another SVID: refused');

my $other = token($k8s, 'ES256', 'k1', psat(
    sub => 'system:serviceaccount:payments:admin',
    'kubernetes.io' => { namespace => 'payments',
                         serviceaccount => { name => 'admin' } }));
($rc, $out) = vpsat($other, "--entries $d/entries.json"
                            . " --node-result \@$d/node.jws"
                            . " --pubkey $d/v.pub");
like($out, qr/attest\.no_registration_match/,
     'selectors not a superset of the entry: no match');

done_testing;
