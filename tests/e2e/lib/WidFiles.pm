package WidFiles;
# Small helpers the journal tests share: running a command with stdin and
# captured stderr, raw file reads and writes, a segment's frames, and a
# small tmpfs to fill up.
use strict;
use warnings;
use Exporter qw(import);
use File::Temp ();      # its clean-up runs after the unmount below

our @EXPORT_OK = qw(run_cmd slurp spew frames mount_tmpfs);

# Mount a tmpfs with the given options (e.g. "size=64k") at dir, made if
# needed, unmounted when the test ends.  False where this machine does
# not allow it (not root, a container): the caller skips.
my @mounted;
END { system('/usr/bin/umount', $_) for reverse @mounted }

sub mount_tmpfs {
    my ($dir, $opts) = @_;
    return 0 if $> != 0;
    mkdir $dir unless -d $dir;
    return 0 if system('/usr/bin/mount', '-t', 'tmpfs', '-o', $opts, 'tmpfs',
                       $dir) != 0;
    push @mounted, $dir;
    return 1;
}

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
