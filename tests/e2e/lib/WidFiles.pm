package WidFiles;
# Small helpers the journal tests share: running a command with stdin and
# captured stderr, raw file reads and writes, and a segment's frames.
use strict;
use warnings;
use Exporter qw(import);

our @EXPORT_OK = qw(run_cmd slurp spew frames);

# run_cmd(TMPDIR, \STDIN, COMMAND, ARGS...) -> (exit code, stdout, stderr)
sub run_cmd {
    my ($d, $in, @args) = @_;
    open my $fh, '>', "$d/stdin" or die;
    print $fh $$in;
    close $fh;
    my $cmd = join(' ', map { "'$_'" } @args);
    my $out = `$cmd < '$d/stdin' 2> '$d/stderr'`;
    my $rc = $? >> 8;
    open $fh, '<', "$d/stderr" or die;
    my $err = do { local $/; <$fh> };
    close $fh;
    return ($rc, $out, $err);
}

sub slurp {
    my ($p) = @_;
    open my $fh, '<:raw', $p or die "$p: $!";
    local $/;
    my $b = <$fh>;
    close $fh;
    return $b;
}

sub spew {
    my ($p, $b) = @_;
    open my $fh, '>:raw', $p or die "$p: $!";
    print $fh $b;
    close $fh;
}

# Frames of a segment: [offset, type, data length].
sub frames {
    my ($b) = @_;
    my ($off, @f) = (0);
    while ($off + 9 <= length $b) {
        my ($len, $type) = unpack('N C', substr($b, $off + 4, 5));
        push @f, [$off, $type, $len];
        $off += 9 + $len;
    }
    return @f;
}

1;
