#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "identity_support.h"

int
idt_mkdtemp(char *buf, size_t size, const char *tag)
{
    if ((size_t) snprintf(buf, size, "/tmp/wid-%s-XXXXXX", tag) >= size) {
        return -1;
    }
    return mkdtemp(buf) != NULL ? 0 : -1;
}

void
idt_rmtree(const char *dir)
{
    if (dir != NULL && dir[0] != '\0' && strncmp(dir, "/tmp/wid-", 9) == 0) {
        (void) idt_run("rm -rf '%s'", dir);
    }
}

const char *
idt_tools_dir(void)
{
    static char dir[4096];
    const char *pki = getenv("WID_PKI");
    char       *slash;

    if (pki == NULL || strlen(pki) >= sizeof(dir)) {
        return "tests/tools";
    }
    strcpy(dir, pki);
    slash = strrchr(dir, '/');
    if (slash == NULL) {
        return "tests/tools";
    }
    *slash = '\0';
    return dir;
}

int
idt_run(const char *fmt, ...)
{
    char    cmd[8192];
    va_list ap;
    int     st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    st = system(cmd);
    if (st == -1 || !WIFEXITED(st)) {
        return -1;
    }
    return WEXITSTATUS(st);
}

char *
idt_slurp(const char *path, size_t *len)
{
    FILE  *f = fopen(path, "rb");
    char  *buf;
    long   n;

    if (f == NULL) {
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
    {
        fclose(f);
        return NULL;
    }
    buf = malloc((size_t) n + 1);
    if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    if (len != NULL) {
        *len = (size_t) n;
    }
    return buf;
}

int
idt_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    if (f == NULL) {
        return -1;
    }
    if (fwrite(data, 1, len, f) != len) {
        fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}
