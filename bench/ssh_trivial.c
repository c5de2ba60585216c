/*
 * Does nothing.  `make bench-ssh` links it dynamically against the
 * libraries ssh-wid-helper loads, so its run time is what starting any
 * such process costs: the baseline `principals` is read against.
 */
int
main(void)
{
    return 0;
}
