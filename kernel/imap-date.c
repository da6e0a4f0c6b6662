#include "autoconfig.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "imap-date.h"

static const char *const imap_months[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static int imap_date_month(const char *s)
{
	int i;

	for (i = 0; i < 12; i++) {
		if (strncasecmp(s, imap_months[i], 3) == 0)
			return i;
	}
	return -1;
}

/* Days from 1970-01-01 to the given civil date (proleptic Gregorian). */
static int64_t imap_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int imap_days_in_month(int year, int mon)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return days[mon] + (mon == 1 && leap);
}

/* Reads "D-Mon-YYYY" at *p; advances *p.  0 or -1. */
static int imap_date_read(const char **p, int64_t *days_r)
{
	const char *s = *p;
	int day = 0, year = 0, mon, i;

	if (*s < '0' || *s > '9')
		return -1;
	day = *s++ - '0';
	if (*s >= '0' && *s <= '9')
		day = day * 10 + (*s++ - '0');
	if (*s++ != '-' || (mon = imap_date_month(s)) < 0)
		return -1;
	s += 3;
	if (*s++ != '-')
		return -1;
	for (i = 0; i < 4; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		year = year * 10 + (s[i] - '0');
	}
	if (day < 1 || day > imap_days_in_month(year, mon))
		return -1;
	*p = s + 4;
	*days_r = imap_days_from_civil(year, (unsigned)mon + 1, (unsigned)day);
	return 0;
}

int imap_date_parse(const char *text, int64_t *time_r)
{
	int64_t days;

	if (imap_date_read(&text, &days) < 0 || *text != '\0')
		return -1;
	*time_r = days * 86400;
	return 0;
}

static int imap_two_digits(const char *s, int max, int *v_r)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	*v_r = (s[0] - '0') * 10 + (s[1] - '0');
	return *v_r <= max ? 0 : -1;
}

int imap_datetime_parse(const char *text, int64_t *time_r, int32_t *tz_r)
{
	const char *s = text;
	int64_t days;
	int hh, mm, ss, zh, zm, sign;

	if (*s == ' ')
		s++;
	if (imap_date_read(&s, &days) < 0 || *s++ != ' ')
		return -1;
	if (imap_two_digits(s, 23, &hh) < 0 || s[2] != ':' ||
	    imap_two_digits(s + 3, 59, &mm) < 0 || s[5] != ':' ||
	    imap_two_digits(s + 6, 60, &ss) < 0 || s[8] != ' ')
		return -1;
	s += 9;
	if (*s != '+' && *s != '-')
		return -1;
	sign = *s++ == '-' ? -1 : 1;
	if (imap_two_digits(s, 99, &zh) < 0 || imap_two_digits(s + 2, 59, &zm) < 0 ||
	    s[4] != '\0')
		return -1;
	*tz_r = sign * (zh * 60 + zm);
	*time_r = days * 86400 + hh * 3600 + mm * 60 + ss - (int64_t)*tz_r * 60;
	return 0;
}

void imap_datetime_format(int64_t t, int32_t tz, char out[64])
{
	time_t local = (time_t)(t + (int64_t)tz * 60);
	struct tm tm;
	int32_t a = tz < 0 ? -tz : tz;

	gmtime_r(&local, &tm);
	snprintf(out, 64, "%02d-%s-%04d %02d:%02d:%02d %c%02d%02d", tm.tm_mday,
		 imap_months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec, tz < 0 ? '-' : '+', (int)(a / 60), (int)(a % 60));
}

int64_t imap_date_day(int64_t t, int32_t tz)
{
	int64_t local = t + (int64_t)tz * 60;
	int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);

	return day * 86400;
}
