/* test_textstyle.c — the checks of concurrently's output look: chalk color styles (names,
 * modifiers, hex, auto) and Unicode date patterns (fields, lengths, quoted text). */
#include <string.h>

#include "base/textstyle.h"
#include "t.h"

static void test_color(void)
{
    char err[256];
    static const char *const good[] = {"",           "auto",      "red",         "bgBlue.bold",
                                       "#23de43",    "#abc",      "#23de43.inverse",
                                       "gray.dim",   "cyanBright"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        err[0] = '\0';
        CHECK_INT(textstyle_check_color(good[i], err, sizeof err), 0);
    }
    static const char *const bad[] = {"bleu", "bleu.bold", "red.", "#12", "#gggggg", "red..bold"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CHECK_INT(textstyle_check_color(bad[i], err, sizeof err), -1);
        CHECK(err[0] != '\0');
    }
    textstyle_check_color("bleu.bold", err, sizeof err);
    CHECK(strstr(err, "bleu") != NULL);
}

static void test_date(void)
{
    char err[256];
    static const char *const good[] = {"yyyy-MM-dd HH:mm:ss.SSS", "HH:mm", "'at' HH:mm",
                                       "dd/MM/yy", ""};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CHECK_INT(textstyle_check_date(good[i], err, sizeof err), 0);
    /* a letter date-format.ts does not know, and one it knows at another length */
    err[0] = '\0';
    CHECK_INT(textstyle_check_date("HH:mm T", err, sizeof err), -1);
    CHECK(strstr(err, "\"T\" is invalid") != NULL);
    err[0] = '\0';
    CHECK_INT(textstyle_check_date("HHH", err, sizeof err), -1);
    CHECK(strstr(err, "\"HHH\" is unsupported") != NULL);
    /* letters inside quotes are text */
    CHECK_INT(textstyle_check_date("'T' HH 'it''s'", err, sizeof err), 0);
}

int main(void)
{
    test_color();
    test_date();
    return t_done("textstyle");
}
