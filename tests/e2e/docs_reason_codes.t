#!/usr/bin/perl
# Every reason code the documentation names exists in the one list
# (`wid reasons`), and a pattern such as `policy.tier_*` matches at least
# one code: docs never send an operator looking for a code wid never emits.
use strict;
use warnings;
use FindBin;
use JSON::PP;
use Test::More;

my $root = "$FindBin::Bin/../..";
my $wid = $ENV{WID_BIN} || "$root/build/bin/wid";
my %codes = map { $_->{code} => 1 } @{ decode_json(scalar `$wid reasons --json`) };
ok(scalar(keys %codes) > 100, 'the list of reason codes');

my $areas = join '|', sort keys %{{ map { (split /\./)[0] => 1 } keys %codes }};
# The runbook and the threat model name codes everywhere; elsewhere a
# dotted name in backticks may be a field (`ssh.max_ttl_seconds`), so only
# the first cell of a table row counts there.
for my $doc (glob "$root/docs/*.md") {
    next if $doc =~ /reason-codes\.md$/;
    open my $f, '<', $doc or die "$doc: $!";
    my $text = do { local $/; <$f> };
    if ($doc !~ m{/(runbook|threat-model)\.md$}) {
        $text = join "\n", $text =~ /^(\|\s*`[^`]+`\s*\|)/mg;
    }
    my %seen;
    while ($text =~ /`((?:$areas)\.[a-z0-9_]+\*?)`/g) {
        my $c = $1;
        next if $seen{$c}++;
        if ($c =~ /^(.*)\*$/) {
            my $p = $1;
            ok(scalar(grep { index($_, $p) == 0 } keys %codes),
               "$doc: pattern `$c` matches a code");
        } else {
            ok($codes{$c}, "$doc: `$c` exists");
        }
    }
}
done_testing;
