/* stage.h - the staging store: programs a client uploads to run on
 * agentd's machine (DESIGN.md decision 7), kept under the state
 * directory per key and by content (sha256), least recently run first
 * out past a size cap. Knows nothing of sessions but an owner tag for
 * unfinished uploads. Call with agentd's own ids. */
#ifndef ZMX_STAGE_H
#define ZMX_STAGE_H

#include <stddef.h>
#include <stdint.h>

#define ZMX_STAGE_DIR		"stage"		/* in the state directory */
#define ZMX_STAGE_UPLOADS	8		/* unfinished, per owner */

/* Bytes each key's store may hold (agentd --stage-max); set before
 * serving. */
extern size_t zmx_stage_max;

/* Takes statedir/stage (made 0711 if missing) as the store and removes
 * the temp files an agentd that was killed left there. 0 or -errno. */
int	zmx_stage_open(const char *statedir);
void	zmx_stage_close(void);

/* One STAGE chunk for key from owner (its session): data[len] at off of
 * a program of size bytes whose sha256 is digest. 0 (taken, or had
 * already; the last chunk installs the program), or -errno: -ENOENT an
 * empty query at 0 for a program not stored, -EBADMSG a digest that
 * does not match (the upload is dropped), -EINVAL a chunk out of order
 * or past size, -EFBIG a size over zmx_stage_max, -EAGAIN too many
 * unfinished uploads. */
int	zmx_stage_put(const char *key, const void *owner,
	    const uint8_t digest[32], uint64_t off, const void *data,
	    size_t len, uint64_t size);

/* The stored program, open O_RDONLY|O_CLOEXEC for execveat, its mtime
 * made now (it was run: the last to go). fd, or -ENOPKG if not stored. */
int	zmx_stage_prog(const char *key, const uint8_t digest[32]);

/* Removes owner's unfinished uploads (its session ended). */
void	zmx_stage_drop(const void *owner);

/* The key's directory name in the store: hex of sha256(key)'s first 16
 * bytes, so that any key name makes one safe name. */
void	zmx_stage_keydir(const char *key, char out[33]);

#endif
