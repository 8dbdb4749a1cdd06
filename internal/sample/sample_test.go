package sample

import (
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLetterIsDeterministicAndLooksLikeALetter(t *testing.T) {
	a, err := Letter(1, 2, Fine)
	require.NoError(t, err)
	b, err := Letter(1, 2, Fine)
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(a.Pix), sha256.Sum256(b.Pix))
	assert.Equal(t, 1728, a.Width)
	assert.Equal(t, 2292, a.Height) // 297 mm at 196 lpi

	// Printed text covers a few percent of a page, not nothing and not all.
	ink := float64(a.Black()) / float64(a.Width*a.Height)
	assert.Greater(t, ink, 0.01)
	assert.Less(t, ink, 0.15)

	c, err := Letter(2, 2, Fine)
	require.NoError(t, err)
	assert.NotEqual(t, sha256.Sum256(a.Pix), sha256.Sum256(c.Pix), "pages differ")

	s, err := Letter(1, 1, Standard)
	require.NoError(t, err)
	assert.Equal(t, 1146, s.Height)
}
