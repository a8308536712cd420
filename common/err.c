/* err.c - errno names for the wire, from errnames.def. */
#include <errno.h>
#include <string.h>

#include "err.h"

static const struct {
	int		 err;
	const char	*name;
} err_table[] = {
#define E(x) { x, #x },
#include "errnames.def"
#undef E
};

const char *
zmx_err_name(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].err == err)
			return err_table[i].name;
	return "EIO";
}

int
zmx_err_from_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return EIO;
	for (i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (strcmp(err_table[i].name, name) == 0)
			return err_table[i].err;
	return EIO;
}
