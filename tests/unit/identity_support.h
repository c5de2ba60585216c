/*
 * Helpers shared by the identity unit tests: temp dirs, running the
 * test tools (tests/tools/widpki, tests/tools/mint-jwt), reading files.
 */
#ifndef WID_IDENTITY_SUPPORT_H
#define WID_IDENTITY_SUPPORT_H

#include <stddef.h>

/* mkdtemp under /tmp; returns a static buffer per call site (copy it). */
int idt_mkdtemp(char *buf, size_t size, const char *tag);

/* Remove a tree made by idt_mkdtemp. */
void idt_rmtree(const char *dir);

/* Directory of the test tools (next to $WID_PKI). */
const char *idt_tools_dir(void);

/* Run a shell command built like printf; returns its exit status. */
int idt_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whole file as a NUL-terminated malloc'd buffer, NULL on failure. */
char *idt_slurp(const char *path, size_t *len);

/* Write bytes to a file (truncate); 0 on success. */
int idt_write(const char *path, const void *data, size_t len);

#endif
