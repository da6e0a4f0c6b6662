#include "autoconfig.h"
#include <string.h>
#include "imap-bodystructure.h"
#include "imap-envelope.h"
#include "imap-quote.h"

static const char empty_text_body[] =
	"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 0 0";
static const char empty_envelope[] =
	"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)";

static void write_cstr(struct strbuf *out, const char *s)
{
	imap_quote_nstring_cstr(out, s);
}

/* body-fld-param: "(" string SP string *(SP string SP string) ")" / nil */
static void write_params(struct strbuf *out, const struct message_param *params,
			 unsigned int count)
{
	unsigned int i;

	if (count == 0) {
		strbuf_append(out, "NIL", 3);
		return;
	}
	strbuf_appendc(out, '(');
	for (i = 0; i < count; i++) {
		if (i > 0)
			strbuf_appendc(out, ' ');
		write_cstr(out, params[i].name);
		strbuf_appendc(out, ' ');
		write_cstr(out, params[i].value);
	}
	strbuf_appendc(out, ')');
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc */
static void write_dsp_lang_loc(struct strbuf *out, const struct message_part *part)
{
	unsigned int i;

	strbuf_appendc(out, ' ');
	if (part->disposition == NULL) {
		strbuf_append(out, "NIL", 3);
	} else {
		strbuf_appendc(out, '(');
		write_cstr(out, part->disposition);
		strbuf_appendc(out, ' ');
		write_params(out, part->disp_params, part->disp_param_count);
		strbuf_appendc(out, ')');
	}
	strbuf_appendc(out, ' ');
	if (part->language_count == 0) {
		strbuf_append(out, "NIL", 3);
	} else if (part->language_count == 1) {
		write_cstr(out, part->languages[0]);
	} else {
		strbuf_appendc(out, '(');
		for (i = 0; i < part->language_count; i++) {
			if (i > 0)
				strbuf_appendc(out, ' ');
			write_cstr(out, part->languages[i]);
		}
		strbuf_appendc(out, ')');
	}
	strbuf_appendc(out, ' ');
	write_cstr(out, part->location);
}

static void write_multipart(struct strbuf *out, const char *data,
			    const struct message_part *part, bool extended)
{
	const struct message_part *child;

	strbuf_appendc(out, '(');
	for (child = part->children; child != NULL; child = child->next)
		imap_bodystructure_write(out, data, child, extended);
	if (part->children == NULL) {
		strbuf_appends(out, empty_text_body);
		strbuf_appends(out, extended ? " NIL NIL NIL NIL)" : ")");
	}
	strbuf_appendc(out, ' ');
	write_cstr(out, part->subtype);
	if (extended) {
		strbuf_appendc(out, ' ');
		write_params(out, part->params, part->param_count);
		write_dsp_lang_loc(out, part);
	}
	strbuf_appendc(out, ')');
}

/* The encapsulated message of a message/rfc822 part: envelope and body. */
static void write_encapsulated(struct strbuf *out, const char *data,
			       const struct message_part *part, bool extended)
{
	const struct message_part *msg = part->children;

	strbuf_appendc(out, ' ');
	if (msg == NULL) {
		strbuf_appends(out, empty_envelope);
		strbuf_appendc(out, ' ');
		strbuf_appends(out, empty_text_body);
		strbuf_appends(out, extended ? " NIL NIL NIL NIL)" : ")");
		return;
	}
	imap_envelope_write(out, data, msg);
	strbuf_appendc(out, ' ');
	imap_bodystructure_write(out, data, msg, extended);
}

static void write_single(struct strbuf *out, const char *data,
			 const struct message_part *part, bool extended)
{
	bool is_text = strcmp(part->type, "TEXT") == 0;

	strbuf_appendc(out, '(');
	write_cstr(out, part->type);
	strbuf_appendc(out, ' ');
	write_cstr(out, part->subtype);
	strbuf_appendc(out, ' ');
	write_params(out, part->params, part->param_count);
	strbuf_appendc(out, ' ');
	write_cstr(out, part->id);
	strbuf_appendc(out, ' ');
	write_cstr(out, part->description);
	strbuf_appendc(out, ' ');
	write_cstr(out, part->encoding != NULL ? part->encoding : "7BIT");
	strbuf_appendf(out, " %zu", part->body_size);
	if (part->kind == MESSAGE_PART_MESSAGE_RFC822)
		write_encapsulated(out, data, part, extended);
	if (is_text || part->kind == MESSAGE_PART_MESSAGE_RFC822)
		strbuf_appendf(out, " %zu", part->body_lines);
	if (extended) {
		strbuf_appendc(out, ' ');
		write_cstr(out, part->md5);
		write_dsp_lang_loc(out, part);
	}
	strbuf_appendc(out, ')');
}

void imap_bodystructure_write(struct strbuf *out, const char *data,
			      const struct message_part *part, bool extended)
{
	if (part->kind == MESSAGE_PART_MULTIPART)
		write_multipart(out, data, part, extended);
	else
		write_single(out, data, part, extended);
}
