#!/usr/bin/perl
# wid policy lint | explain | sign | verify: the CLI contract (exit codes
# 0 allow/valid, 1 deny/invalid, 2 usage or operational error; reason
# codes on stderr or in --json).
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use JSON::PP;
use Test::More;

my $root = "$FindBin::Bin/../..";
my $wid = $ENV{WID_BIN} || "$root/build/bin/wid";
my $ex = "$root/policy/examples";

sub run { my $o = `@_ 2>&1`; return ($? >> 8, $o) }
sub run_out { my $o = `@_ 2>/dev/null`; return ($? >> 8, $o) }
sub spew { my ($f, $t) = @_; open my $h, '>', $f or die; print $h $t; close $h }
sub slurp { my ($f) = @_; open my $h, '<', $f or die; local $/; <$h> }

my $d = tempdir(CLEANUP => 1);
my ($rc, $out, $j);

# ---- lint ----
for my $f (qw(payments http-gateway ssh-access)) {
    ($rc, $out) = run("$wid policy lint --strict $ex/$f.yaml");
    is($rc, 0, "example $f.yaml lints clean (strict)");
    like($out, qr/ok: \d+ rules, 0 warnings, sha256 [0-9a-f]{64}, unsigned/,
         "$f: summary with the policy hash");
}

spew("$d/typo.yaml", <<'Y');
rules:
  r:
    allow: [read]
    require_workload_identity:
      trust_domian: prod.example
Y
($rc, $out) = run("$wid policy lint $d/typo.yaml");
is($rc, 1, 'a typo is an invalid policy (1)');
like($out, qr{\Q$d\E/typo\.yaml:5:7: error: unknown key 'trust_domian'.*did you mean 'trust_domain'.*\[policy\.unknown_key\]},
     'file:line:column, suggestion and reason code');
like($out, qr/typo\.yaml:5:7: error: .*lacks required key 'trust_domain' \[policy\.missing_key\]/,
     'the missing key is reported too');

spew("$d/dup.yaml", "rules:\n  r:\n    allow: [a]\n    allow: [a, b]\n");
($rc, $out) = run("$wid policy lint $d/dup.yaml");
is($rc, 1, 'duplicate key is invalid');
like($out, qr/dup\.yaml:4:5: error: duplicate key 'allow'.*\[policy\.duplicate_key\]/,
     'duplicate key with position');

($rc, $out) = run_out("$wid policy lint $d/typo.yaml --json");
is($rc, 1, 'lint --json keeps the exit code');
$j = decode_json($out);
ok(!$j->{valid}, 'json: not valid');
is($j->{reason}, 'policy.unknown_key', 'json: reason');
is($j->{errors}[0]{code}, 'policy.unknown_key', 'json: errors in file order');
ok((grep { $_->{code} eq 'policy.unknown_key' && $_->{line} == 5
           && $_->{column} == 7 } @{$j->{errors}}), 'json: error position');

spew("$d/warn.yaml", "rules:\n  r:\n    allow: [a]\n"
     . "    require_runtime_assurance_tier: verified\n");
($rc, $out) = run("$wid policy lint $d/warn.yaml");
is($rc, 0, 'warnings alone do not fail lint');
like($out, qr/warn\.yaml:4:37: warning: .*no trusted verifier grants it.*\[policy\.lint_warning\]/,
     'unreachable tier is a warning');
($rc, $out) = run("$wid policy lint --strict $d/warn.yaml");
is($rc, 1, '--strict fails on warnings');
unlike($out, qr/: ok: /, '... and does not say ok');
like($out, qr/warn\.yaml: invalid under --strict: 1 rules, 1 warnings, sha256 [0-9a-f]{64}, unsigned \[policy\.lint_warning\]/,
     '... it says invalid, with the reason code');
($rc, $out) = run_out("$wid policy lint --strict $d/warn.yaml --json");
is($rc, 1, '--strict --json: exit 1');
$j = decode_json($out);
ok(!$j->{valid}, '... valid false');
is($j->{reason}, 'policy.lint_warning', '... reason policy.lint_warning');
is(scalar @{ $j->{warnings} }, 1, '... the warning listed');
is($j->{rules}, 1, '... the policy summary still there');
($rc, $out) = run_out("$wid policy lint $d/warn.yaml --json");
is($rc, 0, 'without --strict --json: exit 0');
$j = decode_json($out);
ok($j->{valid} && $j->{reason} eq 'ok', '... valid, reason ok');
# One rule with only "default: block": allows nothing, one warning.
spew("$d/block.yaml", "rules:\n  r:\n    default: block\n");
($rc, $out) = run("$wid policy lint --strict $d/block.yaml");
is($rc, 1, 'a rule that allows nothing fails --strict');
like($out, qr/block\.yaml: invalid under --strict: 1 rules, 1 warnings.*\[policy\.lint_warning\]/,
     '... and says so');

($rc, $out) = run("$wid policy lint $d/nonexistent.yaml");
is($rc, 2, 'unreadable policy is an operational error (2)');
like($out, qr/policy\.unreadable/, 'with its reason code');
($rc, $out) = run("$wid policy lint");
is($rc, 2, 'lint without FILE is a usage error');
($rc, $out) = run("$wid policy frob $ex/payments.yaml");
is($rc, 2, 'unknown subcommand is a usage error');

# ---- explain ----
my $pay = "$ex/payments.yaml";
my $who = '--spiffe-id spiffe://prod.chio/payments/worker/shard-3 --credential x509_svid';
($rc, $out) = run("$wid policy explain $pay --rule payments_write $who"
                  . " --operation transfer_funds --tier attested");
is($rc, 0, 'explain: allow exits 0');
like($out, qr/verdict:\s+allow/, 'human output: verdict');
like($out, qr/tier:\s+effective attested, required attested/, 'human: tiers');

($rc, $out) = run("$wid policy explain $pay --rule payments_write"
                  . " --spiffe-id spiffe://prod.chio/payments/worker-evil"
                  . " --credential x509_svid --operation transfer_funds --tier verified");
is($rc, 1, 'worker-evil is denied (1)');
like($out, qr/reason:\s+policy\.path_prefix/, 'reason: path prefix');
like($out, qr/failed:\s+require_workload_identity\.path_prefixes at \S+payments\.yaml:\d+:\d+/,
     'failed requirement with its place in the policy');

($rc, $out) = run_out("$wid policy explain $pay --rule payments_write $who"
                      . " --operation transfer_funds --json");
is($rc, 1, 'no evidence: deny');
$j = decode_json($out);
is($j->{reason}, 'policy.attestation_missing', 'json: attestation missing');
is($j->{failed}{requirement}, 'require_runtime_assurance_tier', 'json: failed');
is($j->{tier}{required}, 'attested', 'json: required tier');
like($j->{policy}{sha256}, qr/^[0-9a-f]{64}$/, 'json: policy hash');
is($j->{policy}{signer}, 'unsigned', 'json: signer');

($rc, $out) = run_out("$wid policy explain $pay --rule payments_read"
                      . " --spiffe-id spiffe://other.example/x --credential jwt_svid"
                      . " --operation read_ledger --json");
is($rc, 0, 'prefer_ never denies');
$j = decode_json($out);
ok(!$j->{soft_match}{matched}, 'soft match recorded as missed');
is(scalar @{$j->{soft_match}{notes}}, 2, 'with one note per missed part');

# Evidence through --attestation: trusted verifier decides, not the claim.
my $now = 1750000000;
spew("$d/att.json", encode_json({
    schema => 'chio.runtime-attestation.spiffe.x509-svid.v1',
    verifier => 'https://spire.prod.internal', verifier_family => 'spiffe',
    issued_at => $now - 30, expires_at => $now + 300,
    attestation_type => 'x509_svid', tier => 'basic',
    workload_identity => 'spiffe://prod.chio/payments/worker/shard-3',
    verified_by => 'spire_prod' }));
($rc, $out) = run_out("$wid policy explain $pay --rule payments_write $who"
                      . " --operation transfer_funds --attestation $d/att.json"
                      . " --now $now --json");
is($rc, 0, 'verified evidence allows');
$j = decode_json($out);
is($j->{tier}{effective}, 'verified', 'effective tier from the trusted verifier');
is($j->{tier}{verifier}, 'spire_prod', 'which verifier decided');
is($j->{max_ttl_seconds}, 300, 'tier profile ttl');
($rc, $out) = run_out("$wid policy explain $pay --rule payments_write $who"
                      . " --operation transfer_funds --attestation $d/att.json"
                      . " --now " . ($now + 121) . " --json");
is($rc, 1, 'stale evidence denies');
is(decode_json($out)->{reason}, 'policy.evidence_stale', 'reason: stale');

spew("$d/att2.json", encode_json({
    schema => 'self-made', verifier => 'me', issued_at => $now - 1,
    expires_at => $now + 60, attestation_type => 'x509_svid', tier => 'verified',
    workload_identity => 'spiffe://prod.chio/payments/worker/shard-3' }));
($rc, $out) = run_out("$wid policy explain $pay --rule payments_write $who"
                      . " --operation transfer_funds --attestation $d/att2.json"
                      . " --now $now --json");
is($rc, 1, 'self-claimed verified tier is not trusted');
$j = decode_json($out);
is($j->{reason}, 'policy.untrusted_evidence', 'reason: untrusted evidence');
is($j->{tier}{effective}, 'none', 'effective tier none');

# The same claim, but no key verified its signature: worth nothing.
my $claim = decode_json(slurp("$d/att.json"));
delete $claim->{verified_by};
spew("$d/att-unsigned.json", encode_json($claim));
($rc, $out) = run_out("$wid policy explain $pay --rule payments_write $who"
                      . " --operation transfer_funds --attestation $d/att-unsigned.json"
                      . " --now $now --json");
is($rc, 1, 'evidence no key verified is not trusted');
$j = decode_json($out);
is($j->{reason}, 'policy.verifier_key_mismatch', 'reason: verifier key mismatch');
is($j->{tier}{effective}, 'none', 'effective tier none without the key');

# A trusted verifier without a key can never grant its tier, even to a
# claim that names it as the verifier (the claim is self-asserted).
spew("$d/keyless.yaml", <<'Y');
rules:
  r:
    allow: [op]
    require_runtime_assurance_tier: basic
extensions:
  runtime_assurance:
    trusted_verifiers:
      lax:
        schema: s
        verifier: v
        effective_tier: verified
        max_evidence_age_seconds: 60
        allowed_attestation_types: [t]
Y
($rc, $out) = run("$wid policy lint $d/keyless.yaml");
is($rc, 0, 'a keyless verifier is valid (a warning, not an error)');
like($out, qr/keyless\.yaml:8:7: warning: trusted verifier 'lax' has no key: it can never grant a tier.*\[policy\.lint_warning\]/,
     'lint warns that a keyless verifier can never grant a tier');
like($out, qr/keyless\.yaml:4:37: warning: rule 'r' requires tier 'basic' but no trusted verifier grants it/,
     'and that the tier it was meant to grant is unreachable');
($rc, $out) = run("$wid policy lint --strict $d/keyless.yaml");
is($rc, 1, '--strict fails on a keyless verifier');
spew("$d/self.json", encode_json({
    schema => 's', verifier => 'v', issued_at => $now - 1,
    expires_at => $now + 60, attestation_type => 't', tier => 'verified',
    workload_identity => 'spiffe://prod.chio/x', verified_by => 'lax' }));
($rc, $out) = run_out("$wid policy explain $d/keyless.yaml --rule r"
                      . " --spiffe-id spiffe://prod.chio/x --credential x509_svid"
                      . " --operation op --attestation $d/self.json --now $now --json");
is($rc, 1, 'evidence matching a keyless verifier is denied');
$j = decode_json($out);
is($j->{reason}, 'policy.verifier_without_key', 'reason: verifier without key');
is($j->{tier}{effective}, 'none', 'the keyless entry granted nothing');
is($j->{tier}{verifier}, 'lax', 'the entry that matched is named');

($rc, $out) = run("$wid policy explain $pay --rule no_such_rule $who");
is($rc, 1, 'unknown rule denies');
like($out, qr/policy\.unknown_rule/, 'reason: unknown rule');
($rc, $out) = run("$wid policy explain $pay --rule payments_write"
                  . " --spiffe-id https://prod.chio/x --credential x509_svid");
is($rc, 2, 'malformed SPIFFE ID is a usage error');
($rc, $out) = run("$wid policy explain $pay --rule payments_write"
                  . " --spiffe-id spiffe://prod.chio/x --credential pgp");
is($rc, 2, 'unknown credential kind is a usage error');
($rc, $out) = run("$wid policy explain $pay --spiffe-id spiffe://prod.chio/x"
                  . " --credential x509_svid");
is($rc, 2, 'explain without --rule is a usage error');
($rc, $out) = run("$wid policy explain $d/typo.yaml --rule r");
is($rc, 1, 'explain refuses an invalid policy');
like($out, qr/typo\.yaml:5:7:/, 'and says where');

# ---- sign / verify ----
($rc, $out) = run("$wid keygen --out $d/gov");
is($rc, 0, 'keygen for the policy signer');
($rc, $out) = run("$wid keygen --out $d/other");
system("cp $pay $d/p.yaml") == 0 or die;
($rc, $out) = run("$wid policy sign $d/p.yaml --key $d/gov.key");
is($rc, 0, 'sign');
like($out, qr/key-id [0-9a-f]{16}/, 'sign names the key id');
my $sig = slurp("$d/p.yaml.sig");
like($sig, qr/\Awid-policy-signature-v1\nalgorithm: ed25519\nkey-id: [0-9a-f]{16}\nsignature: [A-Za-z0-9+\/]{86}==\n\z/,
     'detached signature in the documented format');

($rc, $out) = run("$wid policy verify $d/p.yaml --pubkey $d/gov.pub");
is($rc, 0, 'verify: valid');
($rc, $out) = run_out("$wid policy verify $d/p.yaml --pubkey $d/gov.pub --json");
$j = decode_json($out);
ok($j->{valid}, 'verify --json: valid');
is($j->{signed_by}, $j->{key_id}, 'signed by the given key');
($rc, $out) = run("$wid policy verify $d/p.yaml --pubkey $d/other.pub");
is($rc, 1, 'verify with another key: rejected');
like($out, qr/policy\.signer_mismatch/, 'reason: signer mismatch');

($rc, $out) = run("$wid policy lint $d/p.yaml --pubkey $d/gov.pub");
is($rc, 0, 'lint of the signed policy with the required key');
like($out, qr/ed25519:[0-9a-f]{16}/, 'the signer is reported');
($rc, $out) = run_out("$wid policy explain $d/p.yaml --pubkey $d/gov.pub --rule payments_write"
                      . " $who --operation transfer_funds --tier verified --json");
is($rc, 0, 'explain with a signed policy');
like(decode_json($out)->{policy}{signer}, qr/^ed25519:[0-9a-f]{16}$/, 'decision names the signer');

open my $h, '>>', "$d/p.yaml" or die; print $h "# one more line\n"; close $h;
($rc, $out) = run("$wid policy verify $d/p.yaml --pubkey $d/gov.pub");
is($rc, 1, 'a changed policy no longer verifies');
like($out, qr/policy\.signature_invalid/, 'reason: signature invalid');
($rc, $out) = run("$wid policy explain $d/p.yaml --pubkey $d/gov.pub --rule payments_write $who");
is($rc, 1, 'a consumer requiring the signer refuses the changed policy');
like($out, qr/policy\.signature_invalid/, 'and says why');
($rc, $out) = run("$wid policy lint $d/p.yaml");
is($rc, 0, 'without a required signer it still lints');

($rc, $out) = run("$wid policy verify $ex/payments.yaml --pubkey $d/gov.pub --sig $d/none.sig");
is($rc, 1, 'missing signature file: rejected');
like($out, qr/policy\.signature_missing/, 'reason: signature missing');
spew("$d/bad.sig", "wid-policy-signature-v1\nalgorithm: rsa\n");
($rc, $out) = run("$wid policy verify $ex/payments.yaml --pubkey $d/gov.pub --sig $d/bad.sig");
is($rc, 1, 'malformed signature file: rejected');
like($out, qr/policy\.signature_malformed/, 'reason: malformed');

chmod 0644, "$d/gov.key";
($rc, $out) = run("$wid policy sign $d/p.yaml --key $d/gov.key");
is($rc, 2, 'signing with a group/world-readable key is refused');
like($out, qr/key\.permissions_too_open/, 'reason from the key file checks');
($rc, $out) = run("$wid policy sign $d/p.yaml");
is($rc, 2, 'sign without --key is a usage error');
($rc, $out) = run("$wid policy verify $d/p.yaml");
is($rc, 2, 'verify without --pubkey is a usage error');

# ---- hostile policy bytes ----

# A "\0" escape would hide the rest of a key or value from the compiler.
for my $case (['key', qq{version: 1\nrules:\n  r: {"default\\0evil": allow}\n}],
              ['value', qq{version: 1\nrules:\n  r: {default: "allow\\0no"}\n}]) {
    spew("$d/nul-$case->[0].yaml", $case->[1]);
    ($rc, $out) = run("$wid policy lint $d/nul-$case->[0].yaml");
    is($rc, 1, "a NUL escape in a $case->[0] is an invalid policy");
    like($out, qr/NUL byte .*\[policy\.bad_value\]/, '... with its reason');
    ($rc, $out) = run("$wid policy explain $d/nul-$case->[0].yaml --rule r"
                      . ' --spiffe-id spiffe://a.org/w --credential x509_svid'
                      . ' --operation DELETE');
    isnt($rc, 0, "... and explain never allows through it");
}

# YAML 1.1 tools read 0600 as octal: a leading zero is refused.
spew("$d/octal.yaml", <<'Y');
version: 1
rules:
  r:
    allow: [login]
    require_workload_identity:
      trust_domain: a.org
    ssh:
      principals: [alice]
      max_ttl_seconds: 0600
Y
($rc, $out) = run("$wid policy lint $d/octal.yaml");
is($rc, 1, 'an integer with a leading zero is invalid');
like($out, qr/max_ttl_seconds.*leading zeros.*\[policy\.bad_value\]/,
     '... and says why');

# Messages quote the policy's bytes without its control characters.
spew("$d/esc.yaml", qq{version: 1\nrules:\n  r:\n    "\\e[1A\\e[2Kok\\e[8m": x\n});
($rc, $out) = run("$wid policy lint $d/esc.yaml");
is($rc, 1, 'an unknown key with escape sequences is refused');
unlike($out, qr/\e/, '... and no escape character reaches the terminal');

# A FIFO in a file's place is refused, not waited on.
system('mkfifo', "$d/fifo.yaml") == 0 or die 'mkfifo';
($rc, $out) = run("timeout 10 $wid policy lint $d/fifo.yaml");
ok($rc != 0 && $rc != 124, 'lint of a FIFO fails at once') or diag $out;
($rc, $out) = run("timeout 10 $wid policy verify $ex/payments.yaml"
                  . " --pubkey $d/fifo.yaml");
ok($rc != 0 && $rc != 124, 'a FIFO as the public key fails at once')
    or diag $out;
($rc, $out) = run("timeout 10 $wid policy explain $ex/payments.yaml"
                  . " --rule payments --attestation $d/fifo.yaml");
is($rc, 2, 'a FIFO as --attestation fails at once (exit 2)') or diag $out;
like($out, qr/fifo\.yaml: cannot read.*\[internal\.io_error\]/,
     '... and says why');

done_testing;
