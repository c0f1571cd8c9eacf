/* show: how showServer prints a server's view (proto_server_show_reply):
 * one item per line, each line "show ID ITEM ...", ID the server shown, so
 * that lines stay readable and greppable wherever they land (stderr, or
 * the --show stream). The grammar, which stays stable, is in README
 * ("Looking inside a server"). */
#ifndef DKV_SHOW_H
#define DKV_SHOW_H

#include <stdio.h>

#include "../common/proto.h"

void show_print(FILE *f, const proto_server_show_reply *r);

#endif
