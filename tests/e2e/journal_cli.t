#!/usr/bin/perl
# The journal from the command line: exit codes and output (human and
# --json) of wid journal verify|query|export|prove and wid receipt verify;
# every query filter against the receipts we wrote; the OCSF export; a
# receipt proof verified offline after the journal is gone; findings that
# name segment, offset, seq and kind; trusted checkpoints catching a log
# cut back at its end.
use strict;
use warnings;
use File::Copy qw(copy);
use File::Path qw(remove_tree);
use File::Temp qw(tempdir);
use FindBin;
use JSON::PP;
use MIME::Base64 qw(decode_base64 encode_base64);
use Test::More;
use lib "$FindBin::Bin/lib";
use WidFiles qw(run_cmd slurp spew frames);

my $root = "$FindBin::Bin/../..";
my $wid = $ENV{WID_BIN} || "$root/build/bin/wid";
my $d = tempdir(CLEANUP => 1);
my $J = "$d/journal";
my $json = JSON::PP->new->utf8->canonical;

# Run wid; returns (exit code, stdout, stderr).
sub run {
    my @args = @_;
    my $in = ref $args[0] eq 'SCALAR' ? shift @args : \'';
    return run_cmd($d, $in, $wid, @args);
}

for my $k (qw(k k2)) {
    my ($rc) = run('keygen', '--out', "$d/$k");
    $rc == 0 or die "keygen";
}

# ---------------------------------------------------------- the data
my $T0 = 1_700_000_000;              # 2023-11-14T22:13:20Z
my @ids_of = ('spiffe://example.org/payments/worker',
              'spiffe://example.org/payments/worker/shard-3',
              'spiffe://example.org/payments/worker-evil',
              'spiffe://other.org/x');
my (@w1, @w2);
for my $i (0 .. 11) {
    push @w1, {
        time_ms => ($T0 + 60 * $i) * 1000 + 5, surface => 'http',
        verdict => ($i % 3 == 0 ? 'deny' : 'allow'),
        reason => ($i % 3 == 0 ? 'policy.path_prefix' : 'ok'),
        rule => ($i % 2 ? 'payments' : 'admin'), operation => 'GET',
        policy => { hash => ('ab' x 32) },
        identity => { spiffe_id => $ids_of[$i % 4],
                      trust_domain => ($i % 4 == 3 ? 'other.org'
                                                   : 'example.org'),
                      credential_kind => 'x509_svid' },
        request => { method => 'GET', host => 'api.example.org',
                     path => "/v1/r/$i", peer => "10.0.0.$i" },
    };
}
for my $i (0 .. 3) {
    push @w2, {
        time_ms => ($T0 + 30 + 60 * $i) * 1000,
        surface => ($i % 2 ? 'ssh_login' : 'ssh_issue'),
        verdict => ($i == 3 ? 'observe' : 'allow'), reason => 'ok',
        rule => 'ssh-deploy', operation => 'login',
        identity => { spiffe_id => $ids_of[0], trust_domain => 'example.org',
                      credential_kind => 'jwt_svid' },
        ssh => { principals => 'deploy', serial => 100 + $i,
                 key_fingerprint => 'SHA256:abc' },
    };
}

my %all;      # id => receipt (with writer and seq)
for my $w (['w1', \@w1], ['w2', \@w2]) {
    my $in = join('', map { $json->encode($_) . "\n" } @{ $w->[1] });
    my ($rc, $out, $err) = run(\$in, 'journal', 'append', $J, '--key',
        "$d/k.key", '--writer', $w->[0], '--checkpoint-every', '5',
        '--fsync', 'never', '--origin', 'host.test');
    is($rc, 0, "append $w->[0]") or diag $err;
    my @lines = split /\n/, $out;
    is(scalar @lines, scalar @{ $w->[1] }, "one 'seq id' line per receipt");
    for my $i (0 .. $#lines) {
        my ($seq, $id) = split / /, $lines[$i];
        is($seq, $i, "seq $i") if $i < 2;
        like($id, qr/^wr1-[0-9a-f]{32}$/, 'receipt id') if $i < 2;
        $all{$id} = { %{ $w->[1][$i] }, writer => $w->[0], seq => $seq };
    }
}

# ------------------------------------------------------------ verify
{
    my ($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey',
                               "$d/k.pub");
    is($rc, 0, 'verify: exit 0');
    like($out, qr/^journal OK: 2 writer\(s\), 16 receipt\(s\), 0 warning\(s\)$/m,
         'verify: summary');
    like($out, qr/^writer w1: 1 segment\(s\), 12 receipt\(s\), 4 checkpoint\(s\), 1 epoch\(s\), tree size 12, signed up to 12$/m,
         'verify: per-writer line');
    is($err, '', 'verify: nothing on stderr');

    ($rc, $out) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub",
                      '--json');
    is($rc, 0, 'verify --json: exit 0');
    my $r = decode_json($out);
    ok($r->{valid}, 'verify --json: valid');
    is($r->{records}, 16, 'verify --json: records');
    is($r->{errors}, 0, 'verify --json: errors');
    is_deeply([map { $_->{writer} } @{ $r->{writers} }], ['w1', 'w2'],
              'verify --json: writers');
    is($r->{writers}[1]{signed_size}, 4, 'verify --json: signed size');
    ok(!exists $r->{code}, 'verify --json: no code when valid');

    ($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey',
                            "$d/k2.pub");
    is($rc, 1, 'verify with another key: exit 1');
    like($err, qr/journal\.checkpoint_unsigned/, '... code on stderr');
    like($out, qr/^journal INVALID: /m, '... says INVALID');
    ($rc, $out) = run('journal', 'verify', $J, '--pubkey', "$d/k2.pub",
                      '--json');
    is(decode_json($out)->{code}, 'journal.checkpoint_unsigned',
       '... code in --json');
    ok(!decode_json($out)->{valid}, '... valid false');

    ($rc) = run('journal', 'verify', $J);
    is($rc, 2, 'verify without --pubkey: usage, exit 2');
    ($rc, $out, $err) = run('journal', 'verify', "$d/nope", '--pubkey',
                            "$d/k.pub");
    is($rc, 2, 'verify of a missing directory: exit 2');
    mkdir "$d/empty";
    ($rc, $out, $err) = run('journal', 'verify', "$d/empty", '--pubkey',
                            "$d/k.pub");
    is($rc, 2, 'verify of an empty journal: exit 2');
    like($err, qr/journal\.empty/, '... journal.empty');
}

# ------------------------------------------------------------- query
sub want {
    my ($pred) = @_;
    return [sort grep { $pred->($all{$_}) } keys %all];
}

sub got_ids {
    my (@args) = @_;
    my ($rc, $out, $err) = run('journal', 'query', $J, '--json', @args);
    is($rc, 0, "query @args: exit 0") or diag $err;
    return [sort map { decode_json($_)->{id} } split /\n/, $out];
}

{
    my ($rc, $out) = run('journal', 'query', $J);
    is($rc, 0, 'query: exit 0');
    my @rows = split /\n/, $out;
    is(scalar @rows, 16, 'query: one table row per receipt');
    like($rows[0], qr/^2023-11-14T22:13:20Z deny +http +admin +policy\.path_prefix +spiffe:\/\/example\.org\/payments\/worker wr1-[0-9a-f]{32}$/,
         'query: table row (time, verdict, surface, rule, reason, id)');

    ($rc, $out) = run('journal', 'query', $J, '--json');
    my @recs = map { decode_json($_) } split /\n/, $out;
    is(scalar @recs, 16, 'query --json: one line per receipt');
    my ($r) = grep { $_->{writer} eq 'w1' && $_->{seq} == 5 } @recs;
    is($r->{identity}{spiffe_id}, $ids_of[1], 'JSON: identity.spiffe_id');
    is($r->{request}{path}, '/v1/r/5', 'JSON: request.path');
    is($r->{policy}{hash}, 'ab' x 32, 'JSON: policy.hash hex');
    is($r->{time}, '2023-11-14T22:18:20.005Z', 'JSON: time RFC 3339 + ms');
    is($r->{schema}, 3, 'JSON: schema');

    is_deeply(got_ids('--spiffe-id', $ids_of[0]),
              want(sub { $_[0]{identity}{spiffe_id} eq $ids_of[0] }),
              '--spiffe-id: exact match only');
    is(scalar @{ got_ids('--spiffe-id', $ids_of[0]) }, 7, '... 7 receipts');
    my $pfx = want(sub { $_[0]{identity}{spiffe_id} =~
                         m{^spiffe://example\.org/payments/worker(/|$)} });
    is_deeply(got_ids('--spiffe-id-prefix',
                      'spiffe://example.org/payments/worker'), $pfx,
              '--spiffe-id-prefix: whole segments (not worker-evil)');
    is(scalar @$pfx, 10, '... 10 receipts');
    is_deeply(got_ids('--spiffe-id-prefix',
                      'spiffe://example.org/payments/worker/'), $pfx,
              '--spiffe-id-prefix with a trailing slash');
    is_deeply(got_ids('--spiffe-id-prefix', 'spiffe://example.org/pay'), [],
              '--spiffe-id-prefix: no partial segment');
    for my $v (qw(allow deny observe)) {
        is_deeply(got_ids('--verdict', $v),
                  want(sub { $_[0]{verdict} eq $v }), "--verdict $v");
    }
    is_deeply(got_ids('--rule', 'payments'),
              want(sub { $_[0]{rule} eq 'payments' }), '--rule');
    for my $s (qw(http ssh_issue ssh_login)) {
        is_deeply(got_ids('--surface', $s),
                  want(sub { $_[0]{surface} eq $s }), "--surface $s");
    }
    my ($lo, $hi) = ($T0 + 120, $T0 + 300);
    my $win = want(sub { $_[0]{time_ms} >= $lo * 1000
                         && $_[0]{time_ms} <= $hi * 1000 });
    is_deeply(got_ids('--since', $lo, '--until', $hi), $win,
              '--since/--until in Unix seconds (inclusive)');
    is_deeply(got_ids('--since', '2023-11-14T22:15:20Z',
                      '--until', '2023-11-14T22:18:20Z'), $win,
              '--since/--until in RFC 3339');
    is_deeply(got_ids('--verdict', 'allow', '--rule', 'payments',
                      '--spiffe-id-prefix', 'spiffe://example.org',
                      '--since', $T0 + 60),
              want(sub { $_[0]{verdict} eq 'allow'
                         && $_[0]{rule} eq 'payments'
                         && $_[0]{identity}{spiffe_id}
                            =~ m{^spiffe://example\.org/}
                         && $_[0]{time_ms} >= ($T0 + 60) * 1000 }),
              'filters combine (and)');
    is_deeply(got_ids('--writer', 'w2'),
              want(sub { $_[0]{writer} eq 'w2' }), '--writer');
    is(scalar @{ got_ids('--limit', 3) }, 3, '--limit');

    my ($rc2, $o2, $e2) = run('journal', 'query', $J, '--verdict', 'maybe');
    is($rc2, 2, 'bad --verdict: exit 2');
    ($rc2) = run('journal', 'query', $J, '--since', 'yesterday');
    is($rc2, 2, 'bad --since: exit 2');
    # Before the epoch, impossible dates and other forms are refused, not
    # wrapped around (unsigned) or moved to another day by timegm().
    for my $t (['--until', '1969-12-31T23:59:59Z', qr/before 1970/],
               ['--since', '1900-01-01T00:00:00Z', qr/before 1970/],
               ['--since', '2026-02-31T00:00:00Z', qr/no such date/],
               ['--until', '2023-11-14T24:00:00Z', qr/no such date/],
               ['--until', '2023-11-14T22:15:60Z', qr/no such date/],
               ['--since', '2023-11-14T22:15:20', qr/YYYY-MM-DDTHH:MM:SSZ/],
               ['--since', '2023-11-14T22:15:20+01:00',
                qr/YYYY-MM-DDTHH:MM:SSZ/],
               ['--since', '2023-11-14T22:15:20.5Z',
                qr/YYYY-MM-DDTHH:MM:SSZ/],
               ['--since', '2023-1-14T22:15:20Z', qr/YYYY-MM-DDTHH:MM:SSZ/],
               ['--since', ' 2023-11-14T22:15:20Z',
                qr/YYYY-MM-DDTHH:MM:SSZ/],
               ['--since', '99999999999999999999', qr/Unix seconds/]) {
        my ($o, $v, $why) = @$t;
        my ($rc3, $o3, $e3) = run('journal', 'query', $J, $o, $v);
        is($rc3, 2, "$o $v: exit 2");
        is($o3, '', '... lists nothing');
        like($e3, qr/bad time '\Q$v\E' for $o: .*$why/, '... says why');
    }
    is_deeply(got_ids('--until', '2023-11-14T22:14:20Z'),
              want(sub { $_[0]{time_ms} <= ($T0 + 60) * 1000 }),
              '--until in RFC 3339 alone');
    is_deeply(got_ids('--since', '1970-01-01T00:00:00Z'),
              [sort keys %all], '--since the epoch: every receipt');
    ($rc2) = run('journal', 'query', $J, '--spiffe-id', 'a',
                 '--spiffe-id-prefix', 'b');
    is($rc2, 2, '--spiffe-id with --spiffe-id-prefix: exit 2');
    # 0 would mean "no limit": refused, not guessed.
    for my $l ('0', '-1', 'x') {
        ($rc2, $o2, $e2) = run('journal', 'query', $J, '--limit', $l);
        is($rc2, 2, "--limit $l: exit 2");
        is($o2, '', '... lists nothing');
        like($e2, qr/--limit '\Q$l\E': a number of receipts, at least 1/,
             '... says why');
    }
    is(scalar @{ got_ids('--limit', 1) }, 1, '--limit 1');
    # An ID that can never be on a receipt: refused with its id.* code.
    for my $t (['--spiffe-id', 'notanid', 'id.wrong_scheme'],
               ['--spiffe-id', 'spiffe://Example.org/x',
                'id.trust_domain_uppercase'],
               ['--spiffe-id', 'spiffe://example.org/x/',
                'id.path_trailing_slash'],
               ['--spiffe-id-prefix', 'spiffe://example.org//',
                'id.path_trailing_slash'],
               ['--spiffe-id-prefix', 'example.org/payments',
                'id.wrong_scheme']) {
        my ($o, $v, $code) = @$t;
        ($rc2, $o2, $e2) = run('journal', 'query', $J, $o, $v);
        is($rc2, 2, "$o $v: exit 2");
        like($e2, qr/\Q$o\E '\Q$v\E' is not a SPIFFE ID: \Q$code\E /,
             "... $code");
    }
}

# ------------------------------------------------------------ export
{
    my ($rc, $out) = run('journal', 'export', $J);
    is($rc, 0, 'export: exit 0');
    my @l = split /\n/, $out;
    is(scalar @l, 16, 'export jsonl: every receipt');
    my (undef, $q) = run('journal', 'query', $J, '--json');
    is($out, $q, 'export jsonl is the JSON form');
    ($rc, $out) = run('journal', 'export', $J, '--format', 'jsonl');
    is($out, $q, '--format jsonl is the default');

    ($rc, $out) = run('journal', 'export', $J, '--format', 'ocsf');
    is($rc, 0, 'export ocsf: exit 0');
    my @ev = map { decode_json($_) } split /\n/, $out;
    is(scalar @ev, 16, 'one OCSF event per receipt');
    my $bad = 0;
    for my $e (@ev) {
        my $r = $all{ $e->{metadata}{uid} } or do { $bad++; next };
        my $ok = $e->{class_uid} == 3002
            && $e->{class_name} eq 'Authorization'
            && $e->{category_uid} == 3
            && $e->{activity_id} == 99
            && $e->{type_uid} == 300299
            && $e->{activity_name} eq $r->{surface}
            && $e->{time} == $r->{time_ms}
            && $e->{status_id} == ($r->{verdict} eq 'deny' ? 2 : 1)
            && $e->{status} eq ($r->{verdict} eq 'deny' ? 'Failure'
                                                        : 'Success')
            && $e->{status_code} eq $r->{reason}
            && $e->{actor}{user}{uid} eq $r->{identity}{spiffe_id}
            && $e->{actor}{user}{domain} eq $r->{identity}{trust_domain}
            && $e->{actor}{user}{type} eq 'Workload'
            && $e->{privileges}[0] eq $r->{operation}
            && $e->{policy}{name} eq $r->{rule}
            && $e->{metadata}{sequence} == $r->{seq}
            && $e->{metadata}{log_name} eq $r->{writer}
            && $e->{metadata}{product}{name} eq 'wid'
            && $e->{metadata}{version} eq '1.3.0'
            && $e->{unmapped}{wid}{id} eq $e->{metadata}{uid};
        if ($r->{surface} eq 'http') {
            $ok &&= $e->{http_request}{http_method} eq 'GET'
                && $e->{http_request}{url}{path} eq $r->{request}{path}
                && $e->{http_request}{url}{hostname} eq 'api.example.org'
                && $e->{src_endpoint}{ip} eq $r->{request}{peer}
                && $e->{dst_endpoint}{hostname} eq 'api.example.org'
                && $e->{policy}{uid} eq 'ab' x 32;
        } else {
            $ok &&= !exists $e->{http_request};
        }
        $bad++ unless $ok;
        diag $json->encode($e) unless $ok;
    }
    is($bad, 0, 'OCSF fields map the receipt (class 3002, status, actor, metadata, http)');
    my ($deny) = grep { $_->{status_id} == 2 } @ev;
    my ($text) = map { /^policy\.path_prefix\s+(.*)$/ ? $1 : () }
                 split /\n/, (run('reasons'))[1];
    ok(defined $text, 'wid reasons knows policy.path_prefix');
    is($deny->{status_detail}, $text, 'OCSF status_detail is the reason text');
    ($rc) = run('journal', 'export', $J, '--format', 'xml');
    is($rc, 2, 'export --format xml: exit 2');
}

# ------------------------------------------- prove and receipt verify
my ($id5) = grep { $all{$_}{writer} eq 'w1' && $all{$_}{seq} == 5 } keys %all;
my ($idw2) = grep { $all{$_}{writer} eq 'w2' } keys %all;
{
    my ($rc, $out, $err) = run('journal', 'prove', $J, $id5, '--out',
                               "$d/p5.json");
    is($rc, 0, 'prove: exit 0') or diag $err;
    my $p = decode_json(slurp("$d/p5.json"));
    is($p->{format}, 'wid-receipt-proof-v1', 'proof format');
    is($p->{id}, $id5, 'proof id');
    is($p->{leaf_index}, 5, 'proof leaf index');
    is($p->{tree_size}, 12, 'proof against the latest checkpoint');
    like($p->{checkpoint}, qr{^host\.test/w1/0\n12\n}, 'checkpoint body');
    ($rc, $out) = run('journal', 'prove', $J, $id5);
    is_deeply(decode_json($out), $p, 'prove to stdout = --out file');
    ($rc, $out, $err) = run('journal', 'prove', $J, $idw2, '--out',
                            "$d/pw2.json");
    is($rc, 0, 'prove a w2 receipt');

    ($rc, $out, $err) = run('journal', 'prove', $J,
                            'wr1-' . ('0' x 32));
    is($rc, 1, 'prove an unknown id: exit 1');
    like($err, qr/journal\.receipt_not_found/, '... receipt_not_found');
    ($rc, $out, $err) = run('journal', 'prove', $J, 'not-an-id');
    is($rc, 1, 'prove a malformed id: exit 1');
    ($rc) = run('journal', 'prove', $J);
    is($rc, 2, 'prove without an id: exit 2');

    # Offline: only the file and the public key, the journal deleted.
    mkdir "$d/offline";
    copy("$d/p5.json", "$d/offline/p5.json") or die;
    copy("$d/k.pub", "$d/offline/k.pub") or die;
    my $Jsaved = "$d/journal-copy";
    system('cp', '-a', $J, $Jsaved) == 0 or die;
    remove_tree($J);
    ok(!-e $J, 'journal directory deleted');
    ($rc, $out, $err) = run('receipt', 'verify', "$d/offline/p5.json",
                            '--pubkey', "$d/offline/k.pub");
    is($rc, 0, 'receipt verify offline: exit 0') or diag $err;
    like($out, qr/^receipt \Q$id5\E verified: included in host\.test\/w1\/0 at size 12$/m,
         'receipt verify: human output');
    like($out, qr/"spiffe_id": "\Q$ids_of[1]\E"/, '... prints the receipt');
    ($rc, $out) = run('receipt', 'verify', "$d/offline/p5.json", '--pubkey',
                      "$d/offline/k.pub", '--json');
    my $r = decode_json($out);
    ok($r->{valid}, 'receipt verify --json: valid');
    is($r->{receipt}{id}, $id5, '... receipt id');
    is($r->{receipt}{request}{path}, '/v1/r/5', '... receipt content');
    is($r->{checkpoint}{origin}, 'host.test/w1/0', '... checkpoint origin');
    is($r->{checkpoint}{size}, 12, '... checkpoint size');
    system('cp', '-a', $Jsaved, $J) == 0 or die;
}

# Edited proofs: each is refused with its own code, exit 1.
sub proof_edit {
    my ($name, $code, $edit, $src) = @_;
    my $p = decode_json(slurp($src // "$d/p5.json"));
    $edit->($p);
    spew("$d/edited.json", ref $p ? $json->encode($p) : $p);
    my ($rc, $out, $err) = run('receipt', 'verify', "$d/edited.json",
                               '--pubkey', "$d/k.pub");
    is($rc, 1, "receipt verify, $name: exit 1");
    like($err, qr/\Q$code\E/, "... $code") or diag $err;
    ($rc, $out) = run('receipt', 'verify', "$d/edited.json", '--pubkey',
                      "$d/k.pub", '--json');
    my $r = eval { decode_json($out) } || {};
    is($r->{code}, $code, "... $code in --json");
    ok(exists $r->{valid} && !$r->{valid}, '... valid false');
}

sub receipt_bytes { decode_base64($_[0]{receipt}) }
sub set_receipt { $_[0]{receipt} = encode_base64($_[1], '') }

{
    my $other = decode_json(slurp("$d/pw2.json"));
    proof_edit('another id', 'receipt.id_mismatch',
               sub { $_[0]{id} = 'wr1-' . ('1' x 32) });
    proof_edit('no format', 'receipt.proof_malformed',
               sub { delete $_[0]{format} });
    proof_edit('not JSON', 'receipt.proof_malformed',
               sub { $_[0] = "{ this is not json" });
    proof_edit('inclusion proof not base64', 'receipt.proof_malformed',
               sub { $_[0]{inclusion_proof}[0] = '***' });
    proof_edit('receipt version 4', 'receipt.unsupported_version',
               sub { my $b = receipt_bytes($_[0]);
                     substr($b, 7, 1) = "\x04"; set_receipt($_[0], $b) });
    proof_edit('receipt bytes cut', 'receipt.malformed',
               sub { my $b = receipt_bytes($_[0]);
                     set_receipt($_[0], substr($b, 0, -1)) });
    proof_edit('checkpoint garbage', 'journal.checkpoint_malformed',
               sub { $_[0]{checkpoint} = "garbage\n" });
    proof_edit('checkpoint signature forged', 'journal.checkpoint_signature',
               sub { $_[0]{checkpoint} =~
                         s/(wid-receipts \S{10})(\S)/$1 . ($2 eq 'A' ? 'B' : 'A')/e });
    proof_edit('checkpoint body changed', 'journal.checkpoint_signature',
               sub { $_[0]{checkpoint} =~ s/\n12\n/\n13\n/ });
    proof_edit("another writer's checkpoint", 'journal.checkpoint_origin',
               sub { $_[0]{checkpoint} = $other->{checkpoint} });
    proof_edit('inclusion proof altered', 'receipt.not_included',
               sub { $_[0]{inclusion_proof}[0] = encode_base64("\0" x 32, '') });
    proof_edit('leaf index changed', 'receipt.not_included',
               sub { $_[0]{leaf_index} = 4 });

    my ($rc, $out, $err) = run('receipt', 'verify', "$d/p5.json",
                               '--pubkey', "$d/k2.pub");
    is($rc, 1, 'receipt verify with another key: exit 1');
    like($err, qr/journal\.checkpoint_unsigned/, '... checkpoint_unsigned');
    ($rc) = run('receipt', 'verify', "$d/missing.json", '--pubkey',
                "$d/k.pub");
    is($rc, 2, 'receipt verify of a missing file: exit 2');
    ($rc) = run('receipt', 'verify', "$d/p5.json");
    is($rc, 2, 'receipt verify without --pubkey: exit 2');
}

# An http receipt has no place for SSH's fields: refused with its reason,
# not recorded without them; the same fields on ssh_issue are recorded.
{
    for my $case (['http', 1], ['ssh_issue', 0]) {
        my ($surface, $want) = @$case;
        my $in = $json->encode({ surface => $surface, verdict => 'allow',
                                 reason => 'ok',
                                 ssh => { principals => 'deploy' } }) . "\n";
        my ($rc, $out, $err) = run(\$in, 'journal', 'append',
                                   "$d/jssh-$surface", '--key', "$d/k.key",
                                   '--writer', 'w', '--fsync', 'never');
        is($rc, $want, "append $surface with ssh.principals: exit $want");
        if ($want) {
            like($err, qr/line 1: receipt\.field_invalid/,
                 '... receipt.field_invalid');
        }
    }
}

# A receipt not yet covered by a checkpoint cannot be proven.
{
    my $J2 = "$d/j2";
    my $in = $json->encode($w1[0]) . "\n" . $json->encode($w1[1]) . "\n";
    my ($rc, $out) = run(\$in, 'journal', 'append', $J2, '--key',
                         "$d/k.key", '--writer', 'w', '--fsync', 'never');
    my ($seq, $id) = split / /, (split /\n/, $out)[1];
    my $seg = "$J2/w/seg-0000000000000001.wjl";
    my $b = slurp($seg);
    my @f = frames($b);
    is($f[-1][1], 3, 'log ends in the closing checkpoint');
    spew($seg, substr($b, 0, $f[-1][0]));       # as if still running
    my $err;
    ($rc, $out, $err) = run('journal', 'prove', $J2, $id);
    is($rc, 1, 'prove an uncovered receipt: exit 1');
    like($err, qr/journal\.receipt_not_covered/, '... receipt_not_covered');
    ($rc, $out, $err) = run('journal', 'verify', $J2, '--pubkey',
                            "$d/k.pub");
    is($rc, 1, 'an unsigned tail with no writer running: exit 1');
    # Named by where its first record is, as every finding.
    my ($first) = grep { $_->[1] == 2 } @f;
    like($out, qr/^ERROR w\/seg-0000000000000001\.wjl offset $first->[0] seq 0: unsigned \(journal\.unsigned_tail\)/m,
         '... named as such, with its segment and offset');
    like($err, qr/^wid journal verify: journal\.unsigned_tail$/m,
         '... code on stderr');
    ($rc, $out, $err) = run('journal', 'verify', $J2, '--pubkey',
                            "$d/k.pub", '--allow-unsigned-tail');
    is($rc, 0, '--allow-unsigned-tail: only a warning');
    like($out, qr/^WARNING w\/seg-0000000000000001\.wjl offset $first->[0] seq 0: unsigned \(journal\.unsigned_tail\)/m,
         '... still named');

    # A record being written while its writer runs: a torn tail is a
    # write in progress, a warning, not damage.
    spew($seg, slurp($seg) . substr($b, $first->[0], 40));
    ($rc, $out, $err) = run('journal', 'verify', $J2, '--pubkey',
                            "$d/k.pub");
    is($rc, 1, 'a torn tail with no writer running: exit 1');
    like($out, qr/^ERROR .* torn \(journal\.torn_tail\)/m, '... an error');
    open my $lk, '>>', "$J2/w/lock" or die "lock: $!";
    flock($lk, 2) or die "flock: $!";
    ($rc, $out, $err) = run('journal', 'verify', $J2, '--pubkey',
                            "$d/k.pub");
    close $lk;
    is($rc, 0, '... with the writer running (its lock held): exit 0')
        or diag $out, $err;
    like($out, qr/^WARNING .* torn \(journal\.torn_tail\): .*write in progress/m,
         '... a warning: a write in progress');
}

# ------------------- forged logs (security review): refused, never adopted
# Five denies replaced by five allows written with another key; the
# checkpoint frames stripped (first case) or kept (second case).  verify
# must refuse it, and reopening the writer with the real key must not
# sign it: a new epoch with a gap, the forged bytes left as they are.
for my $case (['stripped', 'journal.no_checkpoint'],
              ['signed by another key', 'journal.checkpoint_unsigned']) {
    my ($what, $code) = @$case;
    my ($R, $F) = ("$d/forge-real", "$d/forge-fake");
    remove_tree($R, $F);
    my @rc;
    for my $j ([$R, 'k', 'deny'], [$F, 'k2', 'allow']) {
        my $in = join('', map {
            $json->encode({ %{ $w1[$_] }, verdict => $j->[2],
                            reason => ($j->[2] eq 'deny'
                                       ? 'policy.path_prefix' : 'ok') })
                . "\n" } 0 .. 4);
        my ($rc) = run(\$in, 'journal', 'append', $j->[0], '--key',
                       "$d/$j->[1].key", '--writer', 'w1', '--fsync',
                       'never', '--origin', 'host.test');
        push @rc, $rc;
    }
    is_deeply(\@rc, [0, 0], "forgery ($what): both logs written");
    my $seg = 'w1/seg-0000000000000001.wjl';
    my $b = slurp("$F/$seg");
    if ($what eq 'stripped') {
        $b = join('', map { substr($b, $_->[0], 9 + $_->[2]) }
                      grep { $_->[1] != 3 } frames($b));
    }
    spew("$R/$seg", $b);
    my ($rc, $out, $err) = run('journal', 'verify', $R, '--pubkey',
                               "$d/k.pub");
    is($rc, 1, "forgery ($what): verify exit 1");
    like($err, qr/^wid journal verify: \Q$code\E$/m, "... $code");
    like($out, qr/^journal INVALID/m, '... INVALID');
    ($rc) = run('journal', 'verify', $R, '--pubkey', "$d/k.pub",
                '--allow-unsigned-tail');
    is($rc, 1, '... also with --allow-unsigned-tail');

    ($rc, $out, $err) = run('journal', 'append', $R, '--key', "$d/k.key",
                            '--writer', 'w1', '--fsync', 'never',
                            '--origin', 'host.test');
    is($rc, 0, "forgery ($what): the real writer reopens the log");
    like($err, qr/recovered: damage \(\Q$code\E\) at segment 1 offset \d+ left in place; gap recorded, epoch 1/,
         '... records a gap instead of adopting it');
    is(slurp("$R/$seg"), $b, '... the forged bytes left as they are');
    ($rc, $out, $err) = run('journal', 'verify', $R, '--pubkey',
                            "$d/k.pub");
    is($rc, 1, '... and verify still refuses it');
    like($err, qr/^wid journal verify: \Q$code\E$/m, "... $code");
    unlike($out, qr/journal OK/, '... never "journal OK"');
    ($rc) = run('journal', 'verify', $R, '--pubkey', "$d/k.pub",
                '--accept-gaps', '--allow-unsigned-tail');
    is($rc, 1, '... even with --accept-gaps --allow-unsigned-tail');
}

# ------------------------------------------- findings name the place
{
    my $seg = "$J/w1/seg-0000000000000001.wjl";
    my $b = slurp($seg);
    my @f = frames($b);
    my ($rec) = grep { $_->[1] == 2 } @f[4 .. $#f];   # a receipt
    my $c = $b;
    substr($c, $rec->[0] + 40, 1) ^= "\x01";
    spew($seg, $c);
    my ($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey',
                               "$d/k.pub");
    is($rc, 1, 'a flipped bit: exit 1');
    like($out, qr/^ERROR w1\/seg-0000000000000001\.wjl offset $rec->[0] seq \d+: crc \(journal\.frame_crc\): /m,
         '... names writer, segment, offset, seq and kind');
    like($err, qr/^wid journal verify: journal\.frame_crc$/m, '... code on stderr');
    ($rc, $out) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub",
                      '--json');
    my ($fd) = @{ decode_json($out)->{findings} };
    is_deeply([@$fd{qw(writer file segment offset kind code severity)}],
              ['w1', 'seg-0000000000000001.wjl', 1, $rec->[0], 'crc',
               'journal.frame_crc', 'error'], '... and in --json');
    ok(defined $fd->{seq}, '... with the seq');
    spew($seg, $b);
}

# -------------------------------- trusted checkpoints and tail truncation
{
    my ($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey',
        "$d/k.pub", '--save-checkpoints', "$d/cps");
    is($rc, 0, '--save-checkpoints: exit 0') or diag $err;
    ok(-f "$d/cps/w1.e0.checkpoint" && -f "$d/cps/w2.e0.checkpoint",
       'one checkpoint file per writer log and epoch');
    like(slurp("$d/cps/w1.e0.checkpoint"), qr{^host\.test/w1/0\n12\n},
         'the latest checkpoint of w1');
    ($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub",
                            '--trusted-checkpoint', "$d/cps");
    is($rc, 0, 'intact journal agrees with the saved checkpoints');

    # An auditor's first run, as docs/receipts.md shows it: the directory
    # given to both options does not exist yet.
    ($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub",
        '--trusted-checkpoint', "$d/audit-cps", '--save-checkpoints',
        "$d/audit-cps/");
    is($rc, 0, 'first run: a missing trusted DIR that is also saved to')
        or diag $err;
    like($err, qr/note: \Q$d\E\/audit-cps does not exist yet: no trusted checkpoint loaded/,
         '... says nothing was trusted');
    ok(-f "$d/audit-cps/w1.e0.checkpoint", '... and saves the checkpoints');
    ($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub",
        '--trusted-checkpoint', "$d/audit-cps", '--save-checkpoints',
        "$d/audit-cps");
    is($rc, 0, 'second run: verified against them');
    is($err, '', '... without a note');
    ($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub",
        '--trusted-checkpoint', "$d/no-such-cps");
    is($rc, 2, 'a missing trusted DIR not saved to: exit 2');
    like($err, qr/trusted checkpoint \Q$d\E\/no-such-cps: No such file or directory \(internal\.io_error\)/,
         '... with the reason code');
    ($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub",
        '--trusted-checkpoint', "$d/no-such-cps", '--save-checkpoints',
        "$d/other-cps");
    is($rc, 2, '... also when another DIR is saved to');
    ok(!-e "$d/other-cps", '... nothing saved');
    mkdir "$d/empty-cps" or die;
    ($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub",
        '--trusted-checkpoint', "$d/empty-cps");
    is($rc, 0, 'an empty trusted DIR: exit 0');
    like($err, qr/note: no \*\.checkpoint file in \Q$d\E\/empty-cps: no trusted checkpoint loaded/,
         '... with a note that nothing was trusted');

    # Cut w1 back to its second checkpoint (the first after the empty
    # tree's, signed at open, covers 5; the second 10): valid on its own.
    my $seg = "$J/w1/seg-0000000000000001.wjl";
    my $b = slurp($seg);
    my @cp = grep { $_->[1] == 3 } frames($b);
    spew($seg, substr($b, 0, $cp[2][0] + 9 + $cp[2][2]));
    ($rc, $out) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub");
    is($rc, 0, 'a log cut at a checkpoint verifies on its own');
    like($out, qr/w1: .* tree size 10, signed up to 10/, '... with 10 records');
    ($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub",
        '--trusted-checkpoint', "$d/cps/w1.e0.checkpoint");
    is($rc, 1, 'with the trusted checkpoint: exit 1');
    like($err, qr/journal\.truncated/, '... journal.truncated');
    like($out, qr/^ERROR w1\/seg-0000000000000001\.wjl offset \d+ seq 10: truncated \(journal\.truncated\)/m,
         '... where the log now ends');
    ($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub",
        '--trusted-checkpoint', "$d/cps", '--save-checkpoints', "$d/cps");
    is($rc, 1, 'an invalid journal ...');
    like(slurp("$d/cps/w1.e0.checkpoint"), qr{\n12\n},
         '... does not overwrite the saved checkpoints');
    spew($seg, $b);

    # A whole writer log removed.
    system('mv', "$J/w2", "$d/w2-away") == 0 or die;
    ($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub",
        '--trusted-checkpoint', "$d/cps", '--json');
    is($rc, 1, 'a removed writer log: exit 1');
    my $r = decode_json($out);
    is($r->{code}, 'journal.truncated', '... journal.truncated');
    is($r->{findings}[0]{writer}, 'w2', '... names the writer');
    system('mv', "$d/w2-away", "$J/w2") == 0 or die;

    # A trusted checkpoint must itself verify.
    spew("$d/forged.checkpoint",
         slurp("$d/cps/w1.e0.checkpoint") =~ s/\n12\n/\n13\n/r);
    ($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub",
        '--trusted-checkpoint', "$d/forged.checkpoint");
    is($rc, 2, 'a trusted checkpoint that does not verify: exit 2');
    like($err, qr/journal\.checkpoint_signature/, '... says why');
    ($rc, $out, $err) = run('journal', 'verify', $J, '--pubkey', "$d/k2.pub",
        '--trusted-checkpoint', "$d/cps/w1.e0.checkpoint");
    is($rc, 2, 'a trusted checkpoint by another key: exit 2');
    ($rc) = run('journal', 'verify', $J, '--pubkey', "$d/k.pub",
        '--trusted-checkpoint', "$d/none.checkpoint");
    is($rc, 2, 'a missing trusted checkpoint file: exit 2');
}

# A FIFO named like a segment is refused at once, not waited on.
{
    my $J3 = "$d/j-fifo";
    my $in = $json->encode($w1[0]) . "\n";
    my ($rc) = run(\$in, 'journal', 'append', $J3, '--key', "$d/k.key",
                   '--writer', 'w', '--fsync', 'never');
    is($rc, 0, 'a journal with one receipt');
    system('mkfifo', "$J3/w/seg-0000000000000002.wjl") == 0 or die 'mkfifo';
    # run() then runs `timeout 10 wid ...`: a reader that waits exits 124.
    my $wid_bin = $wid;
    $wid = 'timeout';
    my ($vrc, $vout) = run('10', $wid_bin, 'journal', 'verify', $J3,
                           '--pubkey', "$d/k.pub");
    my ($qrc, undef, $qerr) = run('10', $wid_bin, 'journal', 'query', $J3);
    $wid = $wid_bin;
    is($vrc, 1, 'verify with a FIFO segment: exit 1 (not a hang)');
    like($vout, qr{^ERROR w/seg-0000000000000002\.wjl offset 0: io \(internal\.io_error\)}m,
         '... names the segment');
    is($qrc, 0, 'query with a FIFO segment: done');
    like($qerr, qr/1 damaged segment/, '... says a segment was not read');
}

done_testing();
