#!/usr/bin/perl
# An auditor with only docs/receipts.md and the public key: the
# independent verifier tests/tools/verify-receipts (Python, written from
# that page) checks journals the CLI wrote (segments, several checkpoints
# per epoch, a reopen, a crash recovery with a recovery record, a gap
# epoch), receipt proofs from `wid journal prove` and saved checkpoints,
# and agrees with `wid journal verify` / `wid receipt verify` on each:
# exit codes, receipt ids, epochs, checkpoints, tree and signed sizes and
# roots.  Both refuse tampered bytes (with and without a fixed-up CRC) and
# tampered proofs; both accept a checkpoint with an extension line and a
# witness cosignature.
use strict;
use warnings;
use File::Copy qw(copy);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use FindBin;
use JSON::PP;
use MIME::Base64 qw(decode_base64 encode_base64);
use Digest::SHA ();
use Test::More;
use lib "$FindBin::Bin/lib";
use WidFiles qw(run_cmd slurp spew frames);

my $root = "$FindBin::Bin/../..";
my $wid = $ENV{WID_BIN} || "$root/build/bin/wid";
my $vr = "$root/tests/tools/verify-receipts";
my $py = '/usr/bin/python3';
my $d = tempdir(CLEANUP => 1);
my $json = JSON::PP->new->utf8->canonical;

plan skip_all => 'needs /usr/bin/python3 with python3-cryptography'
    unless system("$py -c 'import cryptography.hazmat.primitives"
                  . ".asymmetric.ed25519' 2>/dev/null") == 0;

# Run a command; returns (exit code, stdout, stderr).
sub run {
    my @args = @_;
    my $in = ref $args[0] eq 'SCALAR' ? shift @args : \'';
    return run_cmd($d, $in, @args);
}

# CRC-32C, bitwise (docs/receipts.md, "Frames"), to fix up tampered frames.
sub crc32c {
    my ($s) = @_;
    my $c = 0xFFFFFFFF;
    for my $x (unpack 'C*', $s) {
        $c ^= $x;
        $c = ($c & 1) ? (($c >> 1) ^ 0x82F63B78) : ($c >> 1) for 1 .. 8;
    }
    return $c ^ 0xFFFFFFFF;
}

for my $k (qw(k k2)) {
    my ($rc) = run($wid, 'keygen', '--out', "$d/$k");
    $rc == 0 or die "keygen";
}
is(crc32c('123456789'), 0xE3069283, 'CRC-32C check value');

# ---------------------------------------------------------- the data
my $T0 = 1_700_000_000;
sub http_receipt {
    my ($i) = @_;
    return {
        time_ms => ($T0 + $i) * 1000 + 7, surface => 'http',
        verdict => ($i % 3 ? 'allow' : 'deny'),
        reason => ($i % 3 ? 'ok' : 'policy.path_prefix'),
        rule => "rule-$i", operation => 'GET',
        policy => { hash => ('ab' x 32), signer => 'ed25519:00112233' },
        identity => { spiffe_id => "spiffe://example.org/w/$i",
                      trust_domain => 'example.org', path => "/w/$i",
                      credential_kind => 'x509_svid',
                      credential_id => "0$i", not_after => $T0 + 3600,
                      bundle_hash => ('cd' x 32), prefer => 'matched' },
        attestation => { tier => 'tpm', schema => 's', verifier => 'v',
                         evidence_hash => ('ef' x 32) },
        request => { method => 'GET', host => 'api.example.org',
                     path => "/r/\x{e9}t\x{e9}/$i", path_hash => ('01' x 32),
                     peer => "10.0.0.$i" },
    };
}
sub ssh_receipt {
    my ($i) = @_;
    return {
        time_ms => ($T0 + 100 + $i) * 1000, surface => 'ssh_issue',
        verdict => 'allow', reason => 'ok', rule => 'deploy',
        operation => 'issue',
        identity => { spiffe_id => 'spiffe://example.org/ci',
                      trust_domain => 'example.org',
                      credential_kind => 'jwt_svid' },
        ssh => { principals => 'deploy,ops', key_fingerprint => 'SHA256:k',
                 serial => '18446744073709551615', valid_after => $T0,
                 valid_before => '18446744073709551615' },
    };
}
sub lines { join('', map { $json->encode($_) . "\n" } @_) }

my %ids;          # writer => [ids in seq order]
sub append {
    my ($J, $w, $recs, @opt) = @_;
    my ($rc, $out, $err) = run(\lines(@$recs), $wid, 'journal', 'append',
        $J, '--key', "$d/k.key", '--writer', $w, '--fsync', 'never', @opt);
    is($rc, 0, "append $w: " . scalar(@$recs) . ' receipt(s)') or diag $err;
    push @{ $ids{$w} }, map { (split / /)[1] } split /\n/, $out;
    return $err;
}

# The journal J: w1 over several segments, reopened (under another
# --origin, which an existing epoch ignores); w2 SSH receipts with 64-bit
# serial and valid_before; r recovered after a crash (its last checkpoint
# cut off and a torn frame of zeros after it): a recovery record.
my $J = "$d/journal";
append($J, 'w1', [map { http_receipt($_) } 0 .. 13], '--checkpoint-every',
       '4', '--segment-bytes', '4096', '--origin', 'host.test');
append($J, 'w1', [map { http_receipt($_) } 14 .. 18], '--checkpoint-every',
       '4', '--segment-bytes', '4096', '--origin', 'other.test');
append($J, 'w2', [map { ssh_receipt($_) } 0 .. 3], '--checkpoint-every', '3',
       '--origin', 'host.test');
append($J, 'r', [map { http_receipt($_) } 0 .. 4], '--checkpoint-every',
       '100', '--origin', 'host.test');

sub cut_last_checkpoint {
    my ($seg, $torn) = @_;
    my $b = slurp($seg);
    my ($cp) = (grep { $_->[1] == 3 } frames($b))[-1];
    spew($seg, substr($b, 0, $cp->[0]) . ("\0" x $torn));
}
cut_last_checkpoint("$J/r/seg-0000000000000001.wjl", 20);
unlink "$J/r/closed";
like(append($J, 'r', [], '--checkpoint-every', '100'),
     qr/5 unsigned record\(s\).*adopted/, 'r: recovery adopted 5 records');

# The journal G: g's unsigned tail is longer than --checkpoint-every at
# the reopen, so it is not adopted: a gap epoch, then 2 more receipts.
my $G = "$d/gapped";
append($G, 'g', [map { http_receipt($_) } 0 .. 5], '--checkpoint-every',
       '100', '--origin', 'host.test');
cut_last_checkpoint("$G/g/seg-0000000000000001.wjl", 0);
unlink "$G/g/closed";
like(append($G, 'g', [], '--checkpoint-every', '2'),
     qr/journal\.tail_not_adopted.*gap recorded, epoch 1/, 'g: a gap epoch');
append($G, 'g', [map { http_receipt($_) } 6 .. 7], '--checkpoint-every', '2');

# ------------------------------------------------ journals: agreement
# Run both verifiers; they must agree on the exit code, and when the
# journal verifies, on every writer's figures and on the receipt ids.
sub both {
    my ($name, $dir, $want, @flags) = @_;
    my ($wrc, $wout, $werr) = run($wid, 'journal', 'verify', $dir,
                                  '--pubkey', "$d/k.pub", '--json', @flags);
    my ($vrc, $vout, $verr) = run($vr, 'journal', $dir, '--pubkey',
                                  "$d/k.pub", @flags);
    is($wrc, $want, "$name: wid journal verify exits $want")
        or diag $wout, $werr;
    is($vrc, $want, "$name: verify-receipts exits $want")
        or diag $vout, $verr;
    return ($vout, $wout) if $want != 0;
    my $w = decode_json($wout);
    for my $ww (@{ $w->{writers} }) {
        my $n = $ww->{writer};
        my ($l) = $vout =~ /^writer \Q$n\E: (.*)$/m;
        ok(defined $l, "$name: $n verified by both") or next;
        my %v;
        @v{qw(segments leaves epochs checkpoints tree_size signed_size root)}
            = $l =~ /^(\d+) segment\(s\), (\d+) leaves, (\d+) epoch\(s\), (\d+) checkpoint\(s\), tree size (\d+), signed up to (\d+), root ([0-9a-f]{64})$/;
        is_deeply([@v{qw(segments epochs checkpoints tree_size signed_size
                         root)}],
                  [@{$ww}{qw(segments epochs checkpoints tree_size
                             signed_size root)}],
                  "$name: $n: segments, epochs, checkpoints, tree size,"
                  . " signed size and root agree");
        my @got = map { (split / /)[3] } grep { /^id \Q$n\E / }
                  split /\n/, $vout;
        is_deeply(\@got, $ids{$n}, "$name: $n: receipt ids recomputed");
    }
    return ($vout, $wout);
}

my ($vout) = both('journal', $J, 0);
like($vout, qr/^WARNING r\/seg-0000000000000002\.wjl offset \d+ seq 5: recovered: 5 unsigned leaves adopted$/m,
     'the recovery record is reported');
both('gapped', $G, 1);
($vout) = both('gapped --accept-gaps', $G, 0, '--accept-gaps');
like($vout, qr/^WARNING g\/seg-0000000000000002\.wjl offset \d+ seq 6: gap: damage at segment 1 offset \d+, seqs 0\.\.5 not recovered/m,
     'the gap is reported');
# The gap's reason on disk: the first 4 bytes of SHA-256 of the code.
{
    my $want = substr(Digest::SHA::sha256_hex('journal.tail_not_adopted'),
                      0, 8);
    like($vout, qr/not recovered \(reason 0x$want\)/,
         'the gap reason is the wire id of journal.tail_not_adopted');
    my (undef, $wout) = run($wid, 'journal', 'verify', $G, '--pubkey',
                            "$d/k.pub", '--accept-gaps');
    like($wout, qr/writer recorded damage \(journal\.tail_not_adopted\)/,
         '... which wid reads back as that code');
}

# An unsigned tail: an error, a warning with --allow-unsigned-tail.
{
    my $U = "$d/unsigned";
    make_path("$U/w2");
    copy("$J/w2/$_", "$U/w2/$_") for qw(seg-0000000000000001.wjl);
    cut_last_checkpoint("$U/w2/seg-0000000000000001.wjl", 0);
    both('unsigned tail', $U, 1);
    both('unsigned tail, allowed', $U, 0, '--allow-unsigned-tail');
}

# --------------------------------------------------------- tampering
# Flip one byte in w2's segment: in the CRC, the length, the type and
# the data of every frame (the CRC then fails), and in the data again
# with the CRC recomputed (the decoding, the seqs, the Merkle roots or a
# signature fail).  Both verifiers must refuse every variant.
{
    my $orig = slurp("$J/w2/seg-0000000000000001.wjl");
    my @f = frames($orig);
    my (@cases, $i);
    for my $f (@f) {
        my ($off, $type, $len) = @$f;
        my @at = ($off + (0, 4, 8, 9)[$i++ % 4]);     # one raw flip a frame
        push @cases, [$_, 0] for @at;
        # data flips with a valid CRC: first, middle and last data byte
        push @cases, [$off + 9 + $_, 1] for 0, int($len / 2), $len - 1;
    }
    my ($refused_w, $n, @dirs) = (0, 0);
    for my $c (@cases) {
        my ($at, $fix) = @$c;
        my $b = $orig;
        substr($b, $at, 1) = chr(ord(substr($b, $at, 1)) ^ 0x01);
        if ($fix) {
            my ($f) = grep { $_->[0] + 9 <= $at && $at < $_->[0] + 9 + $_->[2] } @f;
            substr($b, $f->[0], 4) = pack('N', crc32c(substr($b, $f->[0] + 4, 5 + $f->[2])));
        }
        my $T = "$d/tampered/" . $n++;
        make_path("$T/w2");
        spew("$T/w2/seg-0000000000000001.wjl", $b);
        push @dirs, $T;
        my ($wrc) = run($wid, 'journal', 'verify', $T, '--pubkey', "$d/k.pub");
        $refused_w++ if $wrc == 1;
        diag "byte $at (crc fixed: $fix): wid exits $wrc" if $wrc != 1;
    }
    ok($n >= 30, "$n tampered variants of w2's segment");
    is($refused_w, $n, 'wid journal verify refuses every one');
    # one run for all variants: an INVALID line for each
    my ($vrc, $vo) = run($vr, 'journal', @dirs, '--pubkey', "$d/k.pub");
    is($vrc, 1, 'verify-receipts refuses ...');
    my %inv = map { $_ => 1 } $vo =~ /^INVALID (\S+): /mg;
    is_deeply([grep { !$inv{$_} } @dirs], [], '... every one');
    my $T = "$d/tampered/untouched";
    make_path("$T/w2");
    spew("$T/w2/seg-0000000000000001.wjl", $orig);
    both('untampered copy', $T, 0);
}

# ------------------------------------------------------------ proofs
my @proofs;
for my $w (qw(w1 w2 r)) {
    for my $id (@{ $ids{$w} }) {
        my $p = "$d/proof-$id.json";
        my ($rc, $out, $err) = run($wid, 'journal', 'prove', $J, $id,
                                   '--out', $p);
        $rc == 0 or diag "prove $id: $err";
        push @proofs, $p;
    }
}
is(scalar @proofs, 28, 'a proof of every receipt');
{
    my ($rc, $out, $err) = run($vr, 'proof', @proofs, '--pubkey', "$d/k.pub");
    is($rc, 0, 'verify-receipts accepts every proof') or diag $err;
    is(scalar(() = $out =~ /^receipt OK: /mg), 28, '... one line each');
    ($rc, $out, $err) = run($vr, 'proof', $proofs[0], '--pubkey',
                            "$d/k2.pub");
    is($rc, 1, '... and refuses them with another key');
}

# Tampered proofs: both wid receipt verify and verify-receipts refuse.
{
    my $p = decode_json(slurp($proofs[5]));          # w1, seq 5
    my $other = decode_json(slurp($proofs[20]));     # w2
    my $flip = sub {
        my $b = decode_base64($_[0]);
        substr($b, 3, 1) = chr(ord(substr($b, 3, 1)) ^ 1);
        return encode_base64($b, '');
    };
    my %bad = (
        'inclusion hash' => sub { $_[0]{inclusion_proof}[0]
                                      = $flip->($_[0]{inclusion_proof}[0]) },
        'leaf index' => sub { $_[0]{leaf_index}++ },
        'tree size' => sub { $_[0]{tree_size}++ },
        'id' => sub { $_[0]{id} =~ s/.$/$& eq '0' ? '1' : '0'/e },
        'receipt bytes' => sub { $_[0]{receipt} = $flip->($_[0]{receipt}) },
        'root in checkpoint' => sub {
            $_[0]{checkpoint} =~ s/^([^\n]*\n[^\n]*\n)(.)/$1 . ($2 eq 'A' ? 'B' : 'A')/e },
        'checkpoint of another writer' => sub {
            $_[0]{checkpoint} = $other->{checkpoint} },
        'non-canonical base64' => sub {
            # 32 bytes: the last character before '=' carries 2 unused bits
            $_[0]{inclusion_proof}[0] =~ s/(.)=$/chr(ord($1) + 1) . '='/e },
        'one hash too few' => sub { pop @{ $_[0]{inclusion_proof} } },
    );
    my ($k, %file) = (0);
    for my $what (sort keys %bad) {
        my $q = decode_json(slurp($proofs[5]));
        $bad{$what}->($q);
        $file{$what} = "$d/bad-" . $k++ . '.json';
        spew($file{$what}, $json->encode($q));
        my ($wrc) = run($wid, 'receipt', 'verify', $file{$what},
                        '--pubkey', "$d/k.pub");
        isnt($wrc, 0, "proof with a tampered $what: wid refuses");
    }
    my ($vrc, $vo) = run($vr, 'proof', (map { $file{$_} } sort keys %file),
                         '--pubkey', "$d/k.pub");
    is($vrc, 1, 'verify-receipts refuses tampered proofs');
    for my $what (sort keys %bad) {
        like($vo, qr/^INVALID \Q$file{$what}\E: /m,
             "... with a tampered $what");
    }
    my ($wrc) = run($wid, 'receipt', 'verify', $proofs[5], '--pubkey',
                    "$d/k.pub");
    is($wrc, 0, 'the untampered proof verifies with wid');
}

# ------------------------------------------------------- checkpoints
# Saved checkpoints verify; one re-signed with an extension line and a
# witness cosignature is accepted by both (wid: as a trusted checkpoint),
# and so is not one whose extension line the signature does not cover.
{
    my $cps = "$d/cps";
    my ($rc) = run($wid, 'journal', 'verify', $J, '--pubkey', "$d/k.pub",
                   '--save-checkpoints', $cps);
    is($rc, 0, 'checkpoints saved');
    my @cp = sort glob "$cps/*.checkpoint";
    is(scalar @cp, 3, 'one per writer log and epoch');
    my ($vrc, $out) = run($vr, 'checkpoint', @cp, '--pubkey', "$d/k.pub");
    is($vrc, 0, 'verify-receipts accepts the saved checkpoints');
    ($vrc) = run($vr, 'checkpoint', @cp, '--pubkey', "$d/k2.pub");
    is($vrc, 1, '... not with another key');

    # Re-sign w2's with an extension line (signed, or not) and a witness.
    my $note = slurp("$cps/w2.e0.checkpoint");
    my ($body) = $note =~ /^(.*?\n)\n/s;
    my $sign = <<'PY';
import base64, hashlib, sys
from cryptography.hazmat.primitives import serialization
sk = serialization.load_pem_private_key(open(sys.argv[1], 'rb').read(), None)
pk = sk.public_key().public_bytes(serialization.Encoding.Raw,
                                  serialization.PublicFormat.Raw)
body, signed = sys.argv[2].encode(), sys.argv[3].encode()
kid = hashlib.sha256(b'wid-receipts\n\x01' + pk).digest()[:4]
sig = base64.b64encode(kid + sk.sign(signed)).decode()
wit = base64.b64encode(b'\x01\x02\x03\x04' + b'\x07' * 72).decode()
sys.stdout.write(body.decode() + '\n\u2014 wid-receipts ' + sig + '\n'
                 + '\u2014 witness.example/w1 ' + wit + '\n')
PY
    spew("$d/sign.py", $sign);
    my $ext = $body . "extension line\n";
    for my $c (['an extension line and a witness', $ext, $ext, 0],
               ['an unsigned extension line', $ext, $body, 1]) {
        my ($what, $b, $signed, $want) = @$c;
        my ($src, $n) = run($py, "$d/sign.py", "$d/k.key", $b, $signed);
        $src == 0 or die "sign.py";
        remove_tree("$d/tc");
        make_path("$d/tc");
        spew("$d/tc/w2.e0.checkpoint", $n);
        ($vrc) = run($vr, 'checkpoint', "$d/tc/w2.e0.checkpoint", '--pubkey',
                     "$d/k.pub");
        is($vrc, $want, "checkpoint with $what: verify-receipts exits $want");
        my ($wrc) = run($wid, 'journal', 'verify', $J, '--pubkey', "$d/k.pub",
                        '--trusted-checkpoint', "$d/tc/w2.e0.checkpoint");
        is($wrc, $want ? 2 : 0, "... and wid accepts it as a trusted"
           . " checkpoint: " . ($want ? 'no (exit 2)' : 'yes'));
    }
}

done_testing();
